using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TrustServer.Signing.Keys.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class InitialKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Hand-written instead of CreateTable/CreateIndex so that an existing notary-signer database (whose
            // private_keys table was created by notary's own migration, with the same columns, types and the unique
            // constraints "key_id" and "key_id_2") is adopted as it is rather than failing with "already exists"
            // (spec signer.md §5). The result matches the model in the snapshot.
            migrationBuilder.Sql("""
                CREATE TABLE IF NOT EXISTS private_keys (
                    id serial CONSTRAINT private_keys_pkey PRIMARY KEY,
                    created_at timestamp without time zone NULL,
                    updated_at timestamp without time zone NULL,
                    deleted_at timestamp without time zone NULL,
                    key_id character varying(255) NOT NULL,
                    encryption_alg character varying(255) NOT NULL,
                    keywrap_alg character varying(255) NOT NULL,
                    algorithm character varying(50) NOT NULL,
                    passphrase_alias character varying(50) NOT NULL,
                    public bytea NOT NULL,
                    private bytea NOT NULL,
                    gun character varying(255) NOT NULL,
                    role character varying(255) NOT NULL,
                    last_used timestamp without time zone NULL,
                    CONSTRAINT key_id UNIQUE (key_id),
                    CONSTRAINT key_id_2 UNIQUE (key_id, algorithm)
                );
                CREATE INDEX IF NOT EXISTS private_keys_gun_role_algorithm_idx ON private_keys (gun, role, algorithm);
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "private_keys");
        }
    }
}
