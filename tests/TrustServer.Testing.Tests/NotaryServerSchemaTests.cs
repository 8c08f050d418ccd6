using System.Data.Common;
using System.Globalization;
using TrustServer.Testing;

namespace TrustServer.Testing.Tests;

public sealed class PostgresNotaryServerSchemaTests() : NotaryServerSchemaTests(NotaryDatabaseProvider.Postgres)
{
    protected override async Task<string> CreateDatabaseAsync()
    {
        var server = await PostgresServer.GetAsync();
        var name = await server.CreateDatabaseAsync("notary_schema");
        Cleanups.Add(() => server.DropDatabaseAsync(name));
        return server.GetConnectionString(name);
    }
}

public sealed class MariaDbNotaryServerSchemaTests(LocalMariaDbFixture mariadb)
    : NotaryServerSchemaTests(NotaryDatabaseProvider.MySql), IClassFixture<LocalMariaDbFixture>
{
    protected override async Task<string> CreateDatabaseAsync() => (await mariadb.Server.CreateDatabaseAsync("notary_schema")).ConnectionString;
}

/// <summary>The tables come out as notary 0.7.0's migrations leave them (spec validation.md §10.1, signer.md §5) and
/// behave so: unique versions, changefeed defaults and its foreign key. notary-server itself on this schema is
/// exercised by the deployment tests.</summary>
public abstract class NotaryServerSchemaTests(NotaryDatabaseProvider provider) : IAsyncLifetime
{
    protected List<Func<Task>> Cleanups { get; } = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var cleanup in Cleanups)
        {
            await cleanup();
        }
    }

    [Fact]
    public async Task ServerTables_ColumnsAndCategoriesAsNotaryMigrationsLeaveThem()
    {
        var connectionString = await CreateDatabaseAsync();
        await NotaryServerSchema.CreateServerTablesAsync(provider, connectionString);
        await using var connection = await NotaryServerSchema.OpenConnectionAsync(provider, connectionString);

        Assert.Equal(["change_category", "changefeed", "schema_migrations", "tuf_files"], await TablesAsync(connection));
        Assert.Equal(
            provider == NotaryDatabaseProvider.Postgres
                ? ["id integer NO", "created_at timestamp without time zone YES", "updated_at timestamp without time zone YES",
                   "deleted_at timestamp without time zone YES", "gun character varying(255) NO", "role character varying(255) NO",
                   "version integer NO", "data bytea NO", "sha256 character(64) YES"]
                : ["id int(11) NO", "created_at timestamp YES", "updated_at timestamp YES", "deleted_at timestamp YES",
                   "gun varchar(255) NO", "role varchar(255) NO", "version int(11) NO", "data longblob NO", "sha256 char(64) YES"],
            await ColumnsAsync(connection, "tuf_files"));
        Assert.Equal(
            provider == NotaryDatabaseProvider.Postgres
                ? ["id integer NO", "created_at timestamp without time zone YES", "gun character varying(255) NO", "version integer NO",
                   "sha256 character(64) YES", "category character varying(20) NO"]
                : ["id int(11) NO", "created_at timestamp YES", "gun varchar(255) NO", "version int(11) NO", "sha256 char(64) YES",
                   "category varchar(20) NO"],
            await ColumnsAsync(connection, "changefeed"));
        Assert.Equal(["deletion", "update"], (await QueryAsync(connection, "SELECT category FROM change_category ORDER BY category")).Select(r => (string)r[0]!));
        Assert.Equal(
            NotaryServerSchema.ServerMigrationVersion(provider),
            Convert.ToInt64(Assert.Single(await QueryAsync(connection, "SELECT version FROM schema_migrations"))[0], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task ServerTables_UniqueVersionPerRole_ChangefeedDefaultsAndForeignKey()
    {
        var connectionString = await CreateDatabaseAsync();
        await NotaryServerSchema.CreateServerTablesAsync(provider, connectionString);
        await using var connection = await NotaryServerSchema.OpenConnectionAsync(provider, connectionString);
        const string insert = "INSERT INTO tuf_files (gun, role, version, data, sha256) VALUES ('g', 'targets', 1, 'x', 'abc')";

        await ExecuteAsync(connection, insert);
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(connection, insert));
        await ExecuteAsync(connection, "INSERT INTO tuf_files (gun, role, version, data) VALUES ('g', 'snapshot', 1, 'y')");
        await ExecuteAsync(connection, "INSERT INTO changefeed (gun, version, sha256) VALUES ('g', 1, 'abc')");
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(connection, "INSERT INTO changefeed (gun, version, category) VALUES ('g', 2, 'bogus')"));

        var feed = Assert.Single(await QueryAsync(connection, "SELECT category, created_at FROM changefeed"));
        Assert.Equal("update", feed[0]);
        Assert.NotNull(feed[1]);
        var sha256 = (string)(await QueryAsync(connection, "SELECT sha256 FROM tuf_files WHERE role = 'targets'"))[0][0]!;
        Assert.Equal(provider == NotaryDatabaseProvider.Postgres ? 64 : 3, sha256.Length); // char(64) pads on PostgreSQL only
    }

    [Fact]
    public async Task SignerTable_ColumnsAndUniqueKeyIdAsNotaryMigrationsLeaveThem()
    {
        var connectionString = await CreateDatabaseAsync();
        await NotaryServerSchema.CreateSignerTablesAsync(provider, connectionString);
        await using var connection = await NotaryServerSchema.OpenConnectionAsync(provider, connectionString);

        Assert.Equal(["private_keys", "schema_migrations"], await TablesAsync(connection));
        var (varchar, binary, timestamp, integer) = provider == NotaryDatabaseProvider.Postgres
            ? ("character varying", "bytea", "timestamp without time zone", "integer")
            : ("varchar", "blob", "timestamp", "int(11)");
        Assert.Equal(
            [
                $"id {integer} NO", $"created_at {timestamp} YES", $"updated_at {timestamp} YES", $"deleted_at {timestamp} YES",
                $"key_id {varchar}(255) NO", $"encryption_alg {varchar}(255) NO", $"keywrap_alg {varchar}(255) NO",
                $"algorithm {varchar}(50) NO", $"passphrase_alias {varchar}(50) NO", $"public {binary} NO", $"private {binary} NO",
                $"gun {varchar}(255) NO", $"role {varchar}(255) NO",
                $"last_used {(provider == NotaryDatabaseProvider.Postgres ? timestamp : "datetime")} YES",
            ],
            await ColumnsAsync(connection, "private_keys"));
        const string insert = "INSERT INTO private_keys (key_id, encryption_alg, keywrap_alg, algorithm, passphrase_alias, public, private, gun, role) "
            + "VALUES ('k1', 'A256GCM', 'PBES2-HS256+A128KW', '{0}', 'timestamp_1', 'p', 'q', 'g', 'timestamp')";
        await ExecuteAsync(connection, string.Format(CultureInfo.InvariantCulture, insert, "ecdsa"));
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(connection, string.Format(CultureInfo.InvariantCulture, insert, "ed25519")));
    }

    protected abstract Task<string> CreateDatabaseAsync();

    private async Task<List<string>> TablesAsync(DbConnection connection) =>
        [.. (await QueryAsync(
                connection,
                provider == NotaryDatabaseProvider.Postgres
                    ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                    : "SELECT table_name FROM information_schema.tables WHERE table_schema = database()"))
            .Select(r => (string)r[0]!).Order(StringComparer.Ordinal)];

    // "name type NULLABLE" in column order; the type as the server describes it (with lengths).
    private async Task<List<string>> ColumnsAsync(DbConnection connection, string table) =>
        [.. (await QueryAsync(
                connection,
                provider == NotaryDatabaseProvider.Postgres
                    ? "SELECT column_name, CASE WHEN character_maximum_length IS NULL THEN data_type ELSE data_type || '(' || character_maximum_length || ')' END, "
                      + $"is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
                    : "SELECT column_name, column_type, is_nullable FROM information_schema.columns "
                      + $"WHERE table_schema = database() AND table_name = '{table}' ORDER BY ordinal_position"))
            .Select(r => $"{r[0]} {r[1]} {r[2]}")];

    private static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<object?[]>> QueryAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }
}
