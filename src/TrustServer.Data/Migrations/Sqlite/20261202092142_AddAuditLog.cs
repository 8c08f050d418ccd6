using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TrustServer.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddAuditLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "audit_log",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    created_at = table.Column<string>(type: "TEXT", nullable: false),
                    action = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    outcome = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    principal = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    remote_address = table.Column<string>(type: "TEXT", maxLength: 255, nullable: true),
                    request_id = table.Column<string>(type: "TEXT", maxLength: 255, nullable: true),
                    gun = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    files = table.Column<string>(type: "TEXT", nullable: false),
                    detail = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_log", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_audit_log_created_at",
                table: "audit_log",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_audit_log_gun_id",
                table: "audit_log",
                columns: new[] { "gun", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_audit_log_principal_id",
                table: "audit_log",
                columns: new[] { "principal", "id" });

            // Append-only: no UPDATE ever (retention's DELETE is the one removal path).
            migrationBuilder.Sql("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "audit_log");
        }
    }
}
