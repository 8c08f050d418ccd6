using System.Data.Common;
using System.Globalization;
using MySqlConnector;
using Npgsql;

namespace TrustServer.Testing;

/// <summary>The two SQL backends notary-server and notary-signer 0.7.0 support.</summary>
public enum NotaryDatabaseProvider
{
    /// <summary>PostgreSQL (storage backend <c>postgres</c>; Npgsql connection strings).</summary>
    Postgres,

    /// <summary>MySQL or MariaDB (storage backend <c>mysql</c>; MySqlConnector connection strings).</summary>
    MySql,
}

/// <summary>
/// Creates, in an empty database, the tables notary 0.7.0's own SQL migrations (run by golang-migrate) leave behind:
/// for notary-server <c>tuf_files</c>, <c>change_category</c> (rows <c>update</c>, <c>deletion</c>) and
/// <c>changefeed</c>; for notary-signer <c>private_keys</c>; each with golang-migrate's <c>schema_migrations</c>
/// bookkeeping row. Column types, defaults, constraint and index names are those of the migrations' end state
/// (spec validation.md §10.1, signer.md §5, config-and-ops.md §5), per provider: on MySQL the tables are InnoDB with
/// the <c>utf8</c> charset, the server's <c>timestamp_keys</c> table (created and later dropped by the migrations) is
/// absent, and the signer's <c>gun</c>, <c>role</c> and <c>last_used</c> columns come last, as their
/// <c>ALTER TABLE</c> added them.
/// </summary>
/// <example>
/// <code>
/// await NotaryServerSchema.CreateServerTablesAsync(NotaryDatabaseProvider.MySql, database.ConnectionString);
/// await NotaryServerSchema.CreateSignerTablesAsync(NotaryDatabaseProvider.Postgres, keysConnectionString);
/// </code>
/// </example>
public static class NotaryServerSchema
{
    /// <summary>golang-migrate's version after notary's server migrations (2 files for PostgreSQL, 5 for MySQL).</summary>
    /// <param name="provider">The backend.</param>
    /// <returns>The version recorded in <c>schema_migrations</c>.</returns>
    public static long ServerMigrationVersion(NotaryDatabaseProvider provider) => provider == NotaryDatabaseProvider.Postgres ? 2 : 5;

    /// <summary>golang-migrate's version after notary's signer migrations (1 file for PostgreSQL, 2 for MySQL).</summary>
    /// <param name="provider">The backend.</param>
    /// <returns>The version recorded in <c>schema_migrations</c>.</returns>
    public static long SignerMigrationVersion(NotaryDatabaseProvider provider) => provider == NotaryDatabaseProvider.Postgres ? 1 : 2;

    /// <summary>The statements that create notary-server's tables (and the bookkeeping row), in order.</summary>
    /// <param name="provider">The backend.</param>
    /// <returns>One SQL statement per entry.</returns>
    public static IReadOnlyList<string> ServerStatements(NotaryDatabaseProvider provider) => provider switch
    {
        NotaryDatabaseProvider.Postgres =>
        [
            """
            CREATE TABLE "tuf_files" (
                "id" serial PRIMARY KEY,
                "created_at" timestamp NULL DEFAULT NULL,
                "updated_at" timestamp NULL DEFAULT NULL,
                "deleted_at" timestamp NULL DEFAULT NULL,
                "gun" varchar(255) NOT NULL,
                "role" varchar(255) NOT NULL,
                "version" integer NOT NULL,
                "data" bytea NOT NULL,
                "sha256" char(64) DEFAULT NULL,
                UNIQUE ("gun", "role", "version"))
            """,
            """CREATE INDEX "tuf_files_sha256_idx" ON "tuf_files" ("sha256")""",
            """CREATE TABLE "change_category" ("category" varchar(20) PRIMARY KEY)""",
            """INSERT INTO "change_category" VALUES ('update'), ('deletion')""",
            """
            CREATE TABLE "changefeed" (
                "id" serial PRIMARY KEY,
                "created_at" timestamp DEFAULT CURRENT_TIMESTAMP,
                "gun" varchar(255) NOT NULL,
                "version" integer NOT NULL,
                "sha256" char(64) DEFAULT NULL,
                "category" varchar(20) NOT NULL DEFAULT 'update' REFERENCES "change_category")
            """,
            """CREATE INDEX "idx_changefeed_gun" ON "changefeed" ("gun")""",
            .. MigrationBookkeeping(provider, ServerMigrationVersion(provider)),
        ],
        NotaryDatabaseProvider.MySql =>
        [
            """
            CREATE TABLE `tuf_files` (
                `id` int(11) NOT NULL AUTO_INCREMENT,
                `created_at` timestamp NULL DEFAULT NULL,
                `updated_at` timestamp NULL DEFAULT NULL,
                `deleted_at` timestamp NULL DEFAULT NULL,
                `gun` varchar(255) NOT NULL,
                `role` varchar(255) NOT NULL,
                `version` int(11) NOT NULL,
                `data` longblob NOT NULL,
                `sha256` char(64) DEFAULT NULL,
                PRIMARY KEY (`id`),
                UNIQUE KEY `gun` (`gun`, `role`, `version`),
                KEY `sha256` (`sha256`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8
            """,
            """
            CREATE TABLE `change_category` (
                `category` varchar(20) NOT NULL,
                PRIMARY KEY (`category`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8
            """,
            "INSERT INTO `change_category` VALUES ('update'), ('deletion')",
            """
            CREATE TABLE `changefeed` (
                `id` int(11) NOT NULL AUTO_INCREMENT,
                `created_at` timestamp DEFAULT CURRENT_TIMESTAMP,
                `gun` varchar(255) NOT NULL,
                `version` int(11) NOT NULL,
                `sha256` char(64) DEFAULT NULL,
                `category` varchar(20) NOT NULL DEFAULT 'update',
                PRIMARY KEY (`id`),
                FOREIGN KEY (`category`) REFERENCES `change_category` (`category`),
                INDEX `idx_changefeed_gun` (`gun`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8
            """,
            .. MigrationBookkeeping(provider, ServerMigrationVersion(provider)),
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, null),
    };

    /// <summary>The statements that create notary-signer's <c>private_keys</c> table (and the bookkeeping row), in order.</summary>
    /// <param name="provider">The backend.</param>
    /// <returns>One SQL statement per entry.</returns>
    public static IReadOnlyList<string> SignerStatements(NotaryDatabaseProvider provider) => provider switch
    {
        NotaryDatabaseProvider.Postgres =>
        [
            """
            CREATE TABLE "private_keys" (
                "id" serial PRIMARY KEY,
                "created_at" timestamp NULL DEFAULT NULL,
                "updated_at" timestamp NULL DEFAULT NULL,
                "deleted_at" timestamp NULL DEFAULT NULL,
                "key_id" varchar(255) NOT NULL,
                "encryption_alg" varchar(255) NOT NULL,
                "keywrap_alg" varchar(255) NOT NULL,
                "algorithm" varchar(50) NOT NULL,
                "passphrase_alias" varchar(50) NOT NULL,
                "public" bytea NOT NULL,
                "private" bytea NOT NULL,
                "gun" varchar(255) NOT NULL,
                "role" varchar(255) NOT NULL,
                "last_used" timestamp NULL DEFAULT NULL,
                CONSTRAINT "key_id" UNIQUE ("key_id"),
                CONSTRAINT "key_id_2" UNIQUE ("key_id", "algorithm"))
            """,
            .. MigrationBookkeeping(provider, SignerMigrationVersion(provider)),
        ],
        NotaryDatabaseProvider.MySql =>
        [
            """
            CREATE TABLE `private_keys` (
                `id` int(11) NOT NULL AUTO_INCREMENT,
                `created_at` timestamp NULL DEFAULT NULL,
                `updated_at` timestamp NULL DEFAULT NULL,
                `deleted_at` timestamp NULL DEFAULT NULL,
                `key_id` varchar(255) NOT NULL,
                `encryption_alg` varchar(255) NOT NULL,
                `keywrap_alg` varchar(255) NOT NULL,
                `algorithm` varchar(50) NOT NULL,
                `passphrase_alias` varchar(50) NOT NULL,
                `public` blob NOT NULL,
                `private` blob NOT NULL,
                `gun` varchar(255) NOT NULL,
                `role` varchar(255) NOT NULL,
                `last_used` datetime NULL DEFAULT NULL,
                PRIMARY KEY (`id`),
                UNIQUE KEY `key_id` (`key_id`),
                UNIQUE KEY `key_id_2` (`key_id`, `algorithm`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8
            """,
            .. MigrationBookkeeping(provider, SignerMigrationVersion(provider)),
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, null),
    };

    /// <summary>Creates notary-server's tables in the (empty) database.</summary>
    /// <param name="provider">The backend.</param>
    /// <param name="connectionString">Npgsql or MySqlConnector connection string of the database.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task that completes when the tables exist.</returns>
    public static Task CreateServerTablesAsync(NotaryDatabaseProvider provider, string connectionString, CancellationToken cancellationToken = default) =>
        ExecuteAsync(provider, connectionString, ServerStatements(provider), cancellationToken);

    /// <summary>Creates notary-signer's <c>private_keys</c> table in the (empty) database.</summary>
    /// <param name="provider">The backend.</param>
    /// <param name="connectionString">Npgsql or MySqlConnector connection string of the database.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task that completes when the table exists.</returns>
    public static Task CreateSignerTablesAsync(NotaryDatabaseProvider provider, string connectionString, CancellationToken cancellationToken = default) =>
        ExecuteAsync(provider, connectionString, SignerStatements(provider), cancellationToken);

    /// <summary>Opens a connection of the provider's ADO.NET driver (Npgsql or MySqlConnector).</summary>
    /// <param name="provider">The backend.</param>
    /// <param name="connectionString">The connection string.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The open connection; dispose it.</returns>
    public static async Task<DbConnection> OpenConnectionAsync(NotaryDatabaseProvider provider, string connectionString, CancellationToken cancellationToken = default)
    {
        DbConnection connection = provider switch
        {
            NotaryDatabaseProvider.Postgres => new NpgsqlConnection(connectionString),
            NotaryDatabaseProvider.MySql => new MySqlConnection(connectionString),
            _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, null),
        };
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The <c>storage.db_url</c> notary-server and notary-signer take for a database: for PostgreSQL
    /// <c>postgres://user:pass@host:port/db?sslmode=disable</c>, for MySQL the Go driver's DSN
    /// <c>user:pass@tcp(host:port)/db?parseTime=True</c> (as in notary's own configs).
    /// </summary>
    /// <param name="provider">The backend.</param>
    /// <param name="connectionString">Npgsql or MySqlConnector connection string (TCP host, user, password, database).</param>
    /// <returns>The URL or DSN.</returns>
    public static string NotaryDbUrl(NotaryDatabaseProvider provider, string connectionString)
    {
        switch (provider)
        {
            case NotaryDatabaseProvider.Postgres:
                var pg = new NpgsqlConnectionStringBuilder(connectionString);
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"postgres://{Uri.EscapeDataString(pg.Username!)}:{Uri.EscapeDataString(pg.Password ?? string.Empty)}@{pg.Host}:{pg.Port}/{pg.Database}?sslmode=disable");
            case NotaryDatabaseProvider.MySql:
                var my = new MySqlConnectionStringBuilder(connectionString);
                return string.Create(CultureInfo.InvariantCulture, $"{my.UserID}:{my.Password}@tcp({my.Server}:{my.Port})/{my.Database}?parseTime=True");
            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, null);
        }
    }

    // golang-migrate v4 (the version notary's images ship) records the last applied version in this table.
    private static string[] MigrationBookkeeping(NotaryDatabaseProvider provider, long version) =>
    [
        provider == NotaryDatabaseProvider.Postgres
            ? """CREATE TABLE IF NOT EXISTS "schema_migrations" ("version" bigint NOT NULL PRIMARY KEY, "dirty" boolean NOT NULL)"""
            : "CREATE TABLE IF NOT EXISTS `schema_migrations` (`version` bigint NOT NULL PRIMARY KEY, `dirty` boolean NOT NULL)",
        // One row only, also when the server and signer tables share a database.
        $"INSERT INTO schema_migrations (version, dirty) SELECT {version}, false{(provider == NotaryDatabaseProvider.MySql ? " FROM DUAL" : string.Empty)} "
            + "WHERE NOT EXISTS (SELECT 1 FROM schema_migrations)",
    ];

    private static async Task ExecuteAsync(NotaryDatabaseProvider provider, string connectionString, IReadOnlyList<string> statements, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        await using var connection = await OpenConnectionAsync(provider, connectionString, cancellationToken).ConfigureAwait(false);
        foreach (var statement in statements)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = statement;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
