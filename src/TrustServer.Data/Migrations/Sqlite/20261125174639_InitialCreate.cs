using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TrustServer.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InitialCreate : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "changefeed",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    created_at = table.Column<string>(type: "TEXT", nullable: false),
                    gun = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    version = table.Column<long>(type: "INTEGER", nullable: false),
                    sha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    category = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_changefeed", x => x.id);
                    table.CheckConstraint("ck_changefeed_gun_length", "length(gun) <= 255");
                });

            migrationBuilder.CreateTable(
                name: "tuf_files",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    created_at = table.Column<string>(type: "TEXT", nullable: false),
                    gun = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    role = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    version = table.Column<long>(type: "INTEGER", nullable: false),
                    data = table.Column<byte[]>(type: "BLOB", nullable: false),
                    sha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_tuf_files", x => x.id);
                    table.CheckConstraint("ck_tuf_files_gun_length", "length(gun) <= 255");
                    table.CheckConstraint("ck_tuf_files_role_length", "length(role) <= 255");
                });

            migrationBuilder.CreateIndex(
                name: "ix_changefeed_gun_id",
                table: "changefeed",
                columns: new[] { "gun", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_tuf_files_gun_role_sha256",
                table: "tuf_files",
                columns: new[] { "gun", "role", "sha256" });

            migrationBuilder.CreateIndex(
                name: "ux_tuf_files_gun_role_version",
                table: "tuf_files",
                columns: new[] { "gun", "role", "version" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "changefeed");

            migrationBuilder.DropTable(
                name: "tuf_files");
        }
    }
}
