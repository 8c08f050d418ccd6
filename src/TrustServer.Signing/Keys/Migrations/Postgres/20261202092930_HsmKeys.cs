using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace TrustServer.Signing.Keys.Migrations.Postgres
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
                    id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    created_at = table.Column<DateTime>(type: "timestamp without time zone", nullable: true),
                    updated_at = table.Column<DateTime>(type: "timestamp without time zone", nullable: true),
                    deleted_at = table.Column<DateTime>(type: "timestamp without time zone", nullable: true),
                    key_id = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    algorithm = table.Column<string>(type: "character varying(50)", maxLength: 50, nullable: false),
                    @public = table.Column<byte[]>(name: "public", type: "bytea", nullable: false),
                    gun = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    role = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    last_used = table.Column<DateTime>(type: "timestamp without time zone", nullable: true),
                    pkcs11_id = table.Column<byte[]>(type: "bytea", nullable: false),
                    pkcs11_label = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    token_label = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false)
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
