using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TrustServer.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddWebhookOutbox : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "webhook_attempts",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    outbox_id = table.Column<long>(type: "INTEGER", nullable: false),
                    attempted_at = table.Column<string>(type: "TEXT", nullable: false),
                    duration_ms = table.Column<int>(type: "INTEGER", nullable: false),
                    status_code = table.Column<int>(type: "INTEGER", nullable: true),
                    error = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: true),
                    next_attempt_at = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhook_attempts", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "webhook_expiry_notices",
                columns: table => new
                {
                    gun = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    role = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    expires = table.Column<string>(type: "TEXT", nullable: false),
                    within = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    created_at = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhook_expiry_notices", x => new { x.gun, x.role, x.expires, x.within });
                });

            migrationBuilder.CreateTable(
                name: "webhook_outbox",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    created_at = table.Column<string>(type: "TEXT", nullable: false),
                    event_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    event_type = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    gun = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    endpoint_url = table.Column<string>(type: "TEXT", maxLength: 2048, nullable: false),
                    payload = table.Column<byte[]>(type: "BLOB", nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    next_attempt_at = table.Column<string>(type: "TEXT", nullable: false),
                    completed_at = table.Column<string>(type: "TEXT", nullable: true),
                    last_status_code = table.Column<int>(type: "INTEGER", nullable: true),
                    last_error = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhook_outbox", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_attempts_outbox_id_id",
                table: "webhook_attempts",
                columns: new[] { "outbox_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_expiry_notices_expires",
                table: "webhook_expiry_notices",
                column: "expires");

            migrationBuilder.CreateIndex(
                name: "ix_webhook_outbox_gun_id",
                table: "webhook_outbox",
                columns: new[] { "gun", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_outbox_status_completed_at",
                table: "webhook_outbox",
                columns: new[] { "status", "completed_at" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_outbox_status_endpoint_gun_id",
                table: "webhook_outbox",
                columns: new[] { "status", "endpoint_url", "gun", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_webhook_outbox_status_next_attempt_at",
                table: "webhook_outbox",
                columns: new[] { "status", "next_attempt_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "webhook_attempts");

            migrationBuilder.DropTable(
                name: "webhook_expiry_notices");

            migrationBuilder.DropTable(
                name: "webhook_outbox");
        }
    }
}
