using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TrustServer.Signing.Keys.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InitialKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "private_keys",
                columns: table => new
                {
                    id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    updated_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    deleted_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    key_id = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    encryption_alg = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    keywrap_alg = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    algorithm = table.Column<string>(type: "TEXT", maxLength: 50, nullable: false),
                    passphrase_alias = table.Column<string>(type: "TEXT", maxLength: 50, nullable: false),
                    @public = table.Column<byte[]>(name: "public", type: "BLOB", nullable: false),
                    @private = table.Column<byte[]>(name: "private", type: "BLOB", nullable: false),
                    gun = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    role = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    last_used = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("private_keys_pkey", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "key_id",
                table: "private_keys",
                column: "key_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "key_id_2",
                table: "private_keys",
                columns: new[] { "key_id", "algorithm" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "private_keys_gun_role_algorithm_idx",
                table: "private_keys",
                columns: new[] { "gun", "role", "algorithm" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "private_keys");
        }
    }
}
