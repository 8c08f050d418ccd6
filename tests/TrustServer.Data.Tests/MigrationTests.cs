using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Testing;

namespace TrustServer.Data.Tests;

/// <summary>Migrations from an empty database, per provider, and the health probe on broken databases.</summary>
public abstract class MigrationTests
{
    private protected abstract StorageProvider Provider { get; }

    /// <summary>A connection string to a new, empty database (deleted by the test class).</summary>
    private protected abstract Task<string> CreateEmptyDatabaseAsync();

    /// <summary>A connection string to a database that cannot be reached or opened.</summary>
    private protected abstract string UnreachableConnectionString { get; }

    private protected abstract DbConnection Connect(string connectionString);

    /// <summary>Names of the indexes and their column lists on <paramref name="table"/>.</summary>
    private protected abstract Task<IReadOnlyDictionary<string, string>> ReadIndexesAsync(DbConnection connection, string table);

    [Fact]
    public async Task Migrate_EmptyDatabase_CreatesSchemaOnceAndIsIdempotent()
    {
        var connectionString = await CreateEmptyDatabaseAsync();
        await using var services = StoreServices.Create(Provider, connectionString);
        var store = services.GetRequiredService<IMetadataStore>();

        Assert.False(await store.IsOperationalAsync());
        await services.MigrateMetadataDatabaseAsync();
        Assert.True(await store.IsOperationalAsync());
        await services.MigrateMetadataDatabaseAsync();

        await using var db = await services.GetRequiredService<IMetadataDbContextFactory>().CreateAsync(CancellationToken.None);
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        var applied = Assert.Single(await db.Database.GetAppliedMigrationsAsync());
        Assert.EndsWith("_InitialCreate", applied, StringComparison.Ordinal);

        await using var connection = Connect(connectionString);
        await connection.OpenAsync();
        Assert.Equal(1L, await ScalarAsync(connection, $"SELECT count(*) FROM {MetadataDbContext.MigrationsHistoryTable}"));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["ix_tuf_files_gun_role_sha256"] = "gun,role,sha256",
                ["ux_tuf_files_gun_role_version"] = "gun,role,version",
            },
            await ReadIndexesAsync(connection, "tuf_files"));
        Assert.Equal(new Dictionary<string, string> { ["ix_changefeed_gun_id"] = "gun,id" }, await ReadIndexesAsync(connection, "changefeed"));

        // The store works on the migrated database.
        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync("example.com/migrated", null, [new("root", 1, [1, 2, 3])]));
    }

    [Fact]
    public async Task IsOperational_UnreachableDatabase_FalseNotThrow()
    {
        await using var services = StoreServices.Create(Provider, UnreachableConnectionString);

        Assert.False(await services.GetRequiredService<IMetadataStore>().IsOperationalAsync());
    }

    private protected static async Task<object?> ScalarAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}

/// <summary>Migrations on PostgreSQL; each test gets a database of its own on the shared test server.</summary>
public sealed class PostgresMigrationTests : MigrationTests, IAsyncLifetime
{
    private readonly List<string> _databases = [];
    private PostgresServer? _server;

    private protected override StorageProvider Provider => StorageProvider.Postgres;

    private protected override string UnreachableConnectionString => "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none;Timeout=3";

    public async Task InitializeAsync() => _server = await PostgresServer.GetAsync();

    public async Task DisposeAsync()
    {
        foreach (var name in _databases)
        {
            await _server!.DropDatabaseAsync(name);
        }
    }

    [Fact]
    public async Task Migrate_Postgres_UsesBigintTimestamptzAndBytea()
    {
        var connectionString = await CreateEmptyDatabaseAsync();
        await using (var services = StoreServices.Create(Provider, connectionString))
        {
            await services.MigrateMetadataDatabaseAsync();
        }

        await using var connection = Connect(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT table_name || '.' || column_name || ':' || data_type || coalesce('(' || character_maximum_length || ')', '') "
            + "FROM information_schema.columns WHERE table_name IN ('tuf_files', 'changefeed') ORDER BY 1";
        var columns = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                columns.Add(reader.GetString(0));
            }
        }

        Assert.Equal(
            [
                "changefeed.category:character varying(20)", "changefeed.created_at:timestamp with time zone", "changefeed.gun:character varying(255)",
                "changefeed.id:bigint", "changefeed.sha256:character varying(64)", "changefeed.version:bigint",
                "tuf_files.created_at:timestamp with time zone", "tuf_files.data:bytea", "tuf_files.gun:character varying(255)", "tuf_files.id:bigint",
                "tuf_files.role:character varying(255)", "tuf_files.sha256:character varying(64)", "tuf_files.version:bigint",
            ],
            columns);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT count(*) FROM information_schema.tables WHERE table_name = '__EFMigrationsHistory'"));
    }

    private protected override async Task<string> CreateEmptyDatabaseAsync()
    {
        var name = await _server!.CreateDatabaseAsync("trustserver_migrate");
        _databases.Add(name);
        return _server.GetConnectionString(name);
    }

    private protected override DbConnection Connect(string connectionString) => new NpgsqlConnection(connectionString);

    private protected override async Task<IReadOnlyDictionary<string, string>> ReadIndexesAsync(DbConnection connection, string table)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT i.relname, string_agg(a.attname, ',' ORDER BY k.ordinality)
            FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ordinality)
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            WHERE t.relname = @table AND NOT x.indisprimary
            GROUP BY i.relname
            """;
        command.Parameters.Add(new NpgsqlParameter("table", table));
        var indexes = new Dictionary<string, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            indexes[reader.GetString(0)] = reader.GetString(1);
        }

        return indexes;
    }
}

/// <summary>Migrations on SQLite files in a temporary directory.</summary>
public sealed class SqliteMigrationTests : MigrationTests, IDisposable
{
    private readonly TemporaryDirectory _directory = new("trustserver-migrate");

    private protected override StorageProvider Provider => StorageProvider.Sqlite;

    private protected override string UnreachableConnectionString => $"Data Source={_directory.Combine("missing", "dir", "x.db")};Mode=ReadWrite";

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public async Task Migrate_SqliteFileInMissingDirectory_CreatesDirectoryAndUsesWal()
    {
        var path = _directory.Combine("nested", "deeper", "trustserver.db");
        await using (var services = StoreServices.Create(Provider, $"Data Source={path}"))
        {
            await services.MigrateMetadataDatabaseAsync();
        }

        Assert.True(File.Exists(path));
        await using var connection = Connect($"Data Source={path}");
        await connection.OpenAsync();
        Assert.Equal("wal", await ScalarAsync(connection, "PRAGMA journal_mode"));
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT count(*) FROM sqlite_master WHERE name = '__EFMigrationsHistory'"));
    }

    private protected override Task<string> CreateEmptyDatabaseAsync() =>
        Task.FromResult($"Data Source={_directory.Combine($"{Guid.NewGuid():N}.db")}");

    private protected override DbConnection Connect(string connectionString) => new SqliteConnection(connectionString);

    private protected override async Task<IReadOnlyDictionary<string, string>> ReadIndexesAsync(DbConnection connection, string table)
    {
        var indexes = new Dictionary<string, string>();
        var names = new List<string>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' AND sql IS NOT NULL";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                names.Add(reader.GetString(0));
            }
        }

        foreach (var name in names)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT name FROM pragma_index_info('{name}') ORDER BY seqno";
            var columns = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                columns.Add(reader.GetString(0));
            }

            indexes[name] = string.Join(',', columns);
        }

        return indexes;
    }
}
