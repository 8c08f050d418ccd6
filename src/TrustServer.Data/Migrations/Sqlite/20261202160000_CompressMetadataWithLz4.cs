using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TrustServer.Data.Migrations.Sqlite
{
    /// <summary>
    /// The PostgreSQL migration of the same name switches tuf_files.data to lz4 compression; SQLite stores blobs
    /// uncompressed, so nothing changes here (the migration keeps both providers' histories alike).
    /// </summary>
    public partial class CompressMetadataWithLz4 : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
        }
    }
}
