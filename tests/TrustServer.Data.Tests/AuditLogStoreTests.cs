using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Testing;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data.Tests;

/// <summary>
/// The audit log in the store: written in the change's transaction, append-only, queried and pruned by retention.
/// Run against every provider by the subclasses; each test uses its own GUNs and its own clock.
/// </summary>
public abstract class AuditLogStoreTests(IStoreDatabase database) : IAsyncLifetime
{
    private static readonly AuditActor Alice = new("alice", "192.0.2.7", "request-1");

    private readonly List<ServiceProvider> _services = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var services in _services)
        {
            await services.DisposeAsync();
        }
    }

    [Fact]
    public async Task CommitAndDelete_WriteOneEntryEach_ConflictsWriteNone()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero).AddTicks(12_345_678));
        var (store, log) = Create(clock);
        var gun = NewGun();

        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(gun, null, InitialFiles(gun), new AuditContext(AuditActions.Publish, Alice)));
        Assert.Equal(CommitOutcome.VersionConflict, await store.CommitAsync(gun, null, InitialFiles(gun), new AuditContext(AuditActions.Publish, Alice)));
        clock.Now = clock.Now.AddMinutes(1);
        Assert.True(await store.DeleteAsync(gun, new AuditContext(AuditActions.Delete, AuditActor.System("test"))));
        Assert.False(await store.DeleteAsync(gun, new AuditContext(AuditActions.Delete, AuditActor.System("test"))));

        var entries = await log.QueryAsync(new AuditQuery(Gun: gun), 0, 10);
        Assert.Equal(2, entries.Total);
        var (delete, publish) = (entries.Items[0], entries.Items[1]);
        Assert.Equal(new AuditEntry(AuditActions.Publish, AuditOutcomes.Succeeded, Alice, gun, "root@1,targets@1,snapshot@1,timestamp@1", null), publish.Entry);
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 10, 0, 1, TimeSpan.Zero).AddTicks(2_345_670), publish.Time);
        Assert.Equal((await store.GetChangesAsync(gun, 0, 10))[0].CreatedAt, publish.Time);
        Assert.Equal(new AuditEntry(AuditActions.Delete, AuditOutcomes.Succeeded, AuditActor.System("test"), gun, string.Empty, "4 files"), delete.Entry);
        Assert.Equal(publish.Time.AddMinutes(1), delete.Time);
    }

    [Fact]
    public async Task Commit_DatabaseFailsInsideTheTransaction_LeavesNeitherFilesNorAuditEntry()
    {
        var (store, log) = Create();
        var gun = NewGun();
        var trigger = "fail_" + Guid.NewGuid().ToString("N");
        var postgres = database.Provider == StorageProvider.Postgres;
        await ExecuteAsync(InjectedFailures.FailInsertsSql(postgres, trigger, "changefeed", gun));
        try
        {
            await Assert.ThrowsAsync<DbUpdateException>(() => store.CommitAsync(gun, null, InitialFiles(gun), new AuditContext(AuditActions.Publish, Alice)));
        }
        finally
        {
            await ExecuteAsync(InjectedFailures.RemoveSql(postgres, trigger, "changefeed"));
        }

        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM tuf_files WHERE gun = @gun", gun));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM audit_log WHERE gun = @gun", gun));
        Assert.Equal(0, (await log.QueryAsync(new AuditQuery(Gun: gun), 0, 10)).Total);

        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(gun, null, InitialFiles(gun), new AuditContext(AuditActions.Publish, Alice)));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM audit_log WHERE gun = @gun", gun));
    }

    [Fact]
    public async Task Entries_CannotBeUpdatedOrDeletedThroughTheContextOrSql()
    {
        var (_, log) = Create();
        var gun = NewGun();
        await log.RecordAsync(new AuditEntry(AuditActions.Publish, AuditOutcomes.Rejected, Alice, gun, "targets@2", "bad signature"));

        var factory = _services[^1].GetRequiredService<IMetadataDbContextFactory>();
        await using (var db = await factory.CreateAsync(CancellationToken.None))
        {
            var row = await db.AuditLog.SingleAsync(a => a.Gun == gun);
            row.Outcome = AuditOutcomes.Succeeded;
            await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync());
        }

        await using (var db = await factory.CreateAsync(CancellationToken.None))
        {
            db.AuditLog.Remove(await db.AuditLog.SingleAsync(a => a.Gun == gun));
            await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync());
        }

        // The database refuses UPDATE too (trigger of the AddAuditLog migration).
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync($"UPDATE audit_log SET outcome = 'succeeded' WHERE gun = '{gun}'"));

        var stored = Assert.Single((await log.QueryAsync(new AuditQuery(Gun: gun), 0, 10)).Items);
        Assert.Equal(AuditOutcomes.Rejected, stored.Entry.Outcome);
    }

    [Fact]
    public async Task Query_FiltersByGunPrincipalActionAndTime_NewestFirst_Paged()
    {
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new ManualTimeProvider(start);
        var (_, log) = Create(clock);
        var gun = NewGun();
        var other = NewGun();
        var bob = new AuditActor("bob-" + Guid.NewGuid().ToString("N"), null, null);
        for (var i = 0; i < 5; i++)
        {
            clock.Now = start.AddMinutes(i);
            await log.RecordAsync(new AuditEntry(AuditActions.KeyRotate, AuditOutcomes.Succeeded, i % 2 == 0 ? bob : Alice, i < 4 ? gun : other, "snapshot", $"key {i}"));
        }

        var all = await log.QueryAsync(new AuditQuery(Gun: gun), 0, 10);
        Assert.Equal(["key 3", "key 2", "key 1", "key 0"], all.Items.Select(r => r.Entry.Detail));
        Assert.Equal(["key 4", "key 2", "key 0"], (await log.QueryAsync(new AuditQuery(Principal: bob.Principal), 0, 10)).Items.Select(r => r.Entry.Detail));
        Assert.Equal(["key 2", "key 0"], (await log.QueryAsync(new AuditQuery(gun, bob.Principal, AuditActions.KeyRotate), 0, 10)).Items.Select(r => r.Entry.Detail));
        Assert.Empty((await log.QueryAsync(new AuditQuery(gun, Action: AuditActions.Publish), 0, 10)).Items);

        // [from, to), also given in another offset.
        var window = new AuditQuery(gun, From: start.AddMinutes(1).ToOffset(TimeSpan.FromHours(2)), To: start.AddMinutes(3));
        Assert.Equal(["key 2", "key 1"], (await log.QueryAsync(window, 0, 10)).Items.Select(r => r.Entry.Detail));

        var page = await log.QueryAsync(new AuditQuery(Gun: gun), 1, 2);
        Assert.Equal(4, page.Total);
        Assert.Equal(["key 2", "key 1"], page.Items.Select(r => r.Entry.Detail));
    }

    [Fact]
    public async Task Retention_DeletesOnlyEntriesBeforeTheCutoff_OldestFirst_InBatches()
    {
        // A clock of its own, decades back: no other test's entries are that old.
        var start = new DateTimeOffset(1990, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new ManualTimeProvider(start);
        var (_, log) = Create(clock);
        var gun = NewGun();
        for (var i = 0; i < 5; i++)
        {
            clock.Now = start.AddDays(i);
            await log.RecordAsync(new AuditEntry(AuditActions.Publish, AuditOutcomes.Rejected, Alice, gun, "targets@1", $"attempt {i}"));
        }

        var cutoff = start.AddDays(3);
        Assert.Equal(2, await log.DeleteOlderThanAsync(cutoff, 2));
        Assert.Equal(["attempt 4", "attempt 3", "attempt 2"], (await log.QueryAsync(new AuditQuery(Gun: gun), 0, 10)).Items.Select(r => r.Entry.Detail));
        Assert.Equal(1, await log.DeleteOlderThanAsync(cutoff, 2));
        Assert.Equal(0, await log.DeleteOlderThanAsync(cutoff, 2));
        Assert.Equal(["attempt 4", "attempt 3"], (await log.QueryAsync(new AuditQuery(Gun: gun), 0, 10)).Items.Select(r => r.Entry.Detail));
    }

    [Fact]
    public void Source_OnlyRetentionRemovesAuditRows()
    {
        // Append-only in code: the one ExecuteDelete on audit_log is retention's; nothing issues ExecuteUpdate on it,
        // and no SQL in the sources updates or deletes it (the migration's trigger refuses UPDATE).
        var src = Path.Combine(RepositoryRoot(), "src");
        var files = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(src, f), File.ReadAllText);

        var touching = files.Where(f => f.Value.Contains("AuditLog", StringComparison.Ordinal) || f.Value.Contains("audit_log", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(touching);
        var removers = touching.Where(f => f.Value.Contains("ExecuteDelete", StringComparison.Ordinal)).Select(f => f.Key).ToList();
        Assert.Equal([Path.Combine("TrustServer.Data", "Audit", "EfAuditLog.cs")], removers);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(files[removers[0]], "ExecuteDelete"));
        Assert.Contains("DeleteOlderThanAsync", files[removers[0]], StringComparison.Ordinal);
        Assert.DoesNotContain(touching, f => f.Value.Contains("ExecuteUpdate", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => System.Text.RegularExpressions.Regex.IsMatch(f.Value, @"(UPDATE|DELETE FROM)\s+audit_log", System.Text.RegularExpressions.RegexOptions.IgnoreCase));

        // The only caller of the deletion is the retention service.
        var callers = files.Where(f => f.Value.Contains("DeleteOlderThanAsync(", StringComparison.Ordinal)).Select(f => Path.GetFileName(f.Key)).Order(StringComparer.Ordinal);
        Assert.Equal(["AuditContracts.cs", "AuditRetentionService.cs", "EfAuditLog.cs"], callers);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TrustServer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("TrustServer.sln not found above " + AppContext.BaseDirectory);
    }

    private (IMetadataStore Store, IAuditLog Log) Create(TimeProvider? clock = null)
    {
        var services = StoreServices.Create(database.Provider, database.ConnectionString, "audit", clock);
        _services.Add(services);
        return (services.GetRequiredService<IMetadataStore>(), services.GetRequiredService<IAuditLog>());
    }

    private static string NewGun() => $"example.com/audit/{Guid.NewGuid():N}";

    private static MetadataFile[] InitialFiles(string gun) =>
        [.. new[] { "root", "targets", "snapshot", "timestamp" }.Select(role => new MetadataFile(role, 1, Encoding.UTF8.GetBytes($"{{\"gun\":\"{gun}\",\"role\":\"{role}\"}}")))];

    private async Task<DbConnection> OpenAsync()
    {
        DbConnection connection = database.Provider == StorageProvider.Postgres
            ? new NpgsqlConnection(database.ConnectionString)
            : new SqliteConnection(database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> ScalarAsync(string sql, string gun)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "gun";
        parameter.Value = gun;
        command.Parameters.Add(parameter);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The audit log on PostgreSQL.</summary>
public sealed class PostgresAuditLogStoreTests(PostgresStoreDatabase database) : AuditLogStoreTests(database), IClassFixture<PostgresStoreDatabase>;

/// <summary>The audit log on an SQLite file.</summary>
public sealed class SqliteAuditLogStoreTests(SqliteStoreDatabase database) : AuditLogStoreTests(database), IClassFixture<SqliteStoreDatabase>;
