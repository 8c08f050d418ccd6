using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using TrustServer.Testing;
using TrustServer.Tuf.Validation;

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

    /// <summary>
    /// A first start on a new database logs no error. EF Core logs a failed query of the missing history table at Error
    /// level before handling it (Npgsql's existence check is that query, npgsql/efcore.pg#3407), a false alarm on every
    /// new deployment; the bench's server on a new PostgreSQL database logged one.
    /// </summary>
    [Fact]
    public async Task Migrate_EmptyDatabase_LogsNoError()
    {
        var connectionString = await CreateEmptyDatabaseAsync();
        using var logs = new CapturingLoggerProvider();
        await using var services = StoreServices.Create(Provider, connectionString, configure: s => s.AddLogging(b => b.AddProvider(logs)));

        await services.MigrateMetadataDatabaseAsync();

        Assert.True(await services.GetRequiredService<IMetadataStore>().IsOperationalAsync());
        Assert.Contains(logs.Lines, line => line.StartsWith("Information Microsoft.EntityFrameworkCore.Migrations", StringComparison.Ordinal)); // EF Core's log is captured
        var errors = logs.Lines.Where(line => line.StartsWith("Error ", StringComparison.Ordinal) || line.StartsWith("Critical ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

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
        Assert.Equal(["InitialCreate", "AddAuditLog", "AddWebhookOutbox", "CompressMetadataWithLz4"], (await db.Database.GetAppliedMigrationsAsync()).Select(m => m[(m.IndexOf('_', StringComparison.Ordinal) + 1)..]));

        await using var connection = Connect(connectionString);
        await connection.OpenAsync();
        Assert.Equal(4L, await ScalarAsync(connection, $"SELECT count(*) FROM {MetadataDbContext.MigrationsHistoryTable}"));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["ix_tuf_files_gun_role_sha256"] = "gun,role,sha256",
                ["ux_tuf_files_gun_role_version"] = "gun,role,version",
            },
            await ReadIndexesAsync(connection, "tuf_files"));
        Assert.Equal(new Dictionary<string, string> { ["ix_changefeed_gun_id"] = "gun,id" }, await ReadIndexesAsync(connection, "changefeed"));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["ix_audit_log_created_at"] = "created_at",
                ["ix_audit_log_gun_id"] = "gun,id",
                ["ix_audit_log_principal_id"] = "principal,id",
            },
            await ReadIndexesAsync(connection, "audit_log"));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["ix_webhook_outbox_gun_id"] = "gun,id",
                ["ix_webhook_outbox_status_completed_at"] = "status,completed_at",
                ["ix_webhook_outbox_status_endpoint_gun_id"] = "status,endpoint_url,gun,id",
                ["ix_webhook_outbox_status_next_attempt_at"] = "status,next_attempt_at",
            },
            await ReadIndexesAsync(connection, "webhook_outbox"));

        // The store works on the migrated database.
        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync("example.com/migrated", null, [new("root", 1, [1, 2, 3])]));
    }

    /// <summary>
    /// The migration rule: a database written by the previous schema (InitialCreate only) keeps serving the same bytes
    /// after the new migrations and accepts publishes, which are then audited.
    /// </summary>
    [Fact]
    public async Task Migrate_DatabaseOfThePreviousSchema_ServesTheSameBytesAndAcceptsPublishes()
    {
        var connectionString = await CreateEmptyDatabaseAsync();
        await using var services = StoreServices.Create(Provider, connectionString);
        var factory = services.GetRequiredService<IMetadataDbContextFactory>();
        const string Gun = "example.com/previous-schema";
        var created = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
        var files = new[] { ("root", 1L), ("targets", 1L), ("snapshot", 1L), ("timestamp", 1L), ("targets", 2L) }
            .Select(f => new MetadataFile(f.Item1, f.Item2, System.Text.Encoding.UTF8.GetBytes($"{{\"role\":\"{f.Item1}\",\"version\":{f.Item2}}}"))).ToList();
        await using (var db = await factory.CreateAsync(CancellationToken.None))
        {
            // The previous schema, and rows as the previous release wrote them.
            var initial = Assert.Single(db.Database.GetMigrations(), m => m.EndsWith("_InitialCreate", StringComparison.Ordinal));
            await db.GetService<IMigrator>().MigrateAsync(initial);
            foreach (var file in files)
            {
                db.TufFiles.Add(new Model.TufFileEntity { CreatedAt = created, Gun = Gun, Role = file.Role, Version = file.Version, Data = file.Data, Sha256 = file.Sha256Hex });
            }

            db.Changes.Add(new Model.ChangeEntity { CreatedAt = created, Gun = Gun, Version = 1, Sha256 = files[3].Sha256Hex, Category = Model.ChangeEntity.UpdateCategory });
            await db.SaveChangesAsync();
            Assert.Equal(["AddAuditLog", "AddWebhookOutbox", "CompressMetadataWithLz4"], (await db.Database.GetPendingMigrationsAsync()).Select(m => m[(m.IndexOf('_', StringComparison.Ordinal) + 1)..]));
        }

        await services.MigrateMetadataDatabaseAsync();

        var store = services.GetRequiredService<IMetadataStore>();
        foreach (var file in files)
        {
            Assert.Equal(file.Data, (await store.GetByVersionAsync(Gun, file.Role, file.Version))!.Data);
            Assert.Equal(file.Data, (await store.GetByChecksumAsync(Gun, file.Role, file.Sha256Hex))!.Data);
        }

        Assert.Equal(files[4].Data, (await store.GetLatestAsync(Gun, "targets"))!.Data);
        Assert.Equal(created, (await store.GetLatestAsync(Gun, "root"))!.CreatedAt);
        Assert.Equal(files[3].Sha256Hex, Assert.Single(await store.GetChangesAsync(Gun, 0, 10)).Sha256);

        var next = new MetadataFile[] { new("targets", 3, [3]), new("snapshot", 2, [2]), new("timestamp", 2, [2]) };
        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(Gun, 1, next));
        Assert.Equal(next[0].Data, (await store.GetLatestAsync(Gun, "targets"))!.Data);
        var audit = Assert.Single((await services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(Gun), 0, 10)).Items);
        Assert.Equal("targets@3,snapshot@2,timestamp@2", audit.Entry.Files);
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
            + "FROM information_schema.columns WHERE table_name IN ('tuf_files', 'changefeed', 'audit_log') ORDER BY 1";
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
                "audit_log.action:character varying(32)", "audit_log.created_at:timestamp with time zone", "audit_log.detail:character varying(1024)",
                "audit_log.files:text", "audit_log.gun:character varying(255)", "audit_log.id:bigint", "audit_log.outcome:character varying(16)",
                "audit_log.principal:character varying(255)", "audit_log.remote_address:character varying(255)", "audit_log.request_id:character varying(255)",
                "changefeed.category:character varying(20)", "changefeed.created_at:timestamp with time zone", "changefeed.gun:character varying(255)",
                "changefeed.id:bigint", "changefeed.sha256:character varying(64)", "changefeed.version:bigint",
                "tuf_files.created_at:timestamp with time zone", "tuf_files.data:bytea", "tuf_files.gun:character varying(255)", "tuf_files.id:bigint",
                "tuf_files.role:character varying(255)", "tuf_files.sha256:character varying(64)", "tuf_files.version:bigint",
            ],
            columns);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT count(*) FROM information_schema.tables WHERE table_name = '__EFMigrationsHistory'"));
    }

    /// <summary>
    /// CompressMetadataWithLz4 (issue 19): rows stored before it keep pglz and read back unchanged, new large rows are
    /// compressed with lz4 (the test server is PostgreSQL 15 built with lz4).
    /// </summary>
    [Fact]
    public async Task Migrate_Postgres_NewMetadataCompressedWithLz4_EarlierRowsStillRead()
    {
        var connectionString = await CreateEmptyDatabaseAsync();
        await using var services = StoreServices.Create(Provider, connectionString);
        const string Gun = "example.com/lz4";
        static MetadataFile Large(string role, long version) => new(role, version, System.Text.Encoding.UTF8.GetBytes(
            "{\"targets\":{" + string.Join(',', Enumerable.Range(0, 2000).Select(i => $"\"t{i:D7}\":{{\"length\":{version}}}")) + "}}"));
        var before = new[] { Large("root", 1), Large("targets", 1), Large("snapshot", 1), Large("timestamp", 1) };
        await using (var db = await services.GetRequiredService<IMetadataDbContextFactory>().CreateAsync(CancellationToken.None))
        {
            var previous = Assert.Single(db.Database.GetMigrations(), m => m.EndsWith("_AddWebhookOutbox", StringComparison.Ordinal));
            await db.GetService<IMigrator>().MigrateAsync(previous);
        }

        var store = services.GetRequiredService<IMetadataStore>();
        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(Gun, null, before));
        await services.MigrateMetadataDatabaseAsync();
        var after = new[] { Large("targets", 2), Large("snapshot", 2), Large("timestamp", 2) };
        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(Gun, 1, after));

        await using var connection = Connect(connectionString);
        await connection.OpenAsync();
        Assert.Equal("l", (await ScalarAsync(connection, "SELECT attcompression FROM pg_attribute WHERE attrelid = 'tuf_files'::regclass AND attname = 'data'"))?.ToString());
        Assert.Equal("pglz", await ScalarAsync(connection, "SELECT pg_column_compression(data) FROM tuf_files WHERE role = 'targets' AND version = 1"));
        Assert.Equal("lz4", await ScalarAsync(connection, "SELECT pg_column_compression(data) FROM tuf_files WHERE role = 'targets' AND version = 2"));
        foreach (var file in before.Concat(after))
        {
            Assert.Equal(file.Data, (await store.GetByVersionAsync(Gun, file.Role, file.Version))!.Data);
        }
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
