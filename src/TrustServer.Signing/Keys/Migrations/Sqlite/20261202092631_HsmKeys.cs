using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TrustServer.Signing.Keys.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class HsmKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "hsm_keys",
                columns: table => new
                {
                    id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    updated_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    deleted_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    key_id = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    algorithm = table.Column<string>(type: "TEXT", maxLength: 50, nullable: false),
                    @public = table.Column<byte[]>(name: "public", type: "BLOB", nullable: false),
                    gun = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    role = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    last_used = table.Column<DateTime>(type: "TEXT", nullable: true),
                    pkcs11_id = table.Column<byte[]>(type: "BLOB", nullable: false),
                    pkcs11_label = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    token_label = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("hsm_keys_pkey", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "hsm_keys_gun_role_algorithm_idx",
                table: "hsm_keys",
                columns: new[] { "gun", "role", "algorithm" });

            migrationBuilder.CreateIndex(
                name: "hsm_keys_key_id_idx",
                table: "hsm_keys",
                column: "key_id",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "hsm_keys");
        }
    }
}
