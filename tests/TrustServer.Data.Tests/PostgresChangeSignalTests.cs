using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data.Tests;

/// <summary>
/// PostgreSQL notifications between two replicas (two containers on one database): a commit names its GUN to every
/// listener, a rejected write notifies nobody, a notification without a GUN is reported as such.
/// </summary>
public sealed class PostgresChangeSignalTests(PostgresStoreDatabase database) : IClassFixture<PostgresStoreDatabase>, IAsyncLifetime
{
    // Generous: notifications arrive in milliseconds; this only bounds a failing test.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly ServiceProvider _writer = StoreServices.Create(StorageProvider.Postgres, database.ConnectionString, "writer");
    private readonly ServiceProvider _listener = StoreServices.Create(StorageProvider.Postgres, database.ConnectionString, "listener");

    private IMetadataStore Store => _writer.GetRequiredService<IMetadataStore>();

    private IChangeSignal Signal => _listener.GetRequiredService<IChangeSignal>();

    // The first wait opens the LISTEN connection; nothing has been written yet.
    public async Task InitializeAsync() => Assert.Same(ChangeNotice.None, await Signal.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None));

    public async Task DisposeAsync()
    {
        await _listener.DisposeAsync();
        await _writer.DisposeAsync();
    }

    [Fact]
    public async Task Commit_NotifiesTheListener_NamingItsGun()
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, Files(gun, 1)));

        var notice = await NextNoticeAsync();
        Assert.Equal([gun], notice.Guns);
        Assert.False(notice.Unnamed);
    }

    [Fact]
    public async Task RejectedCommit_NotifiesNobody()
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, Files(gun, 1)));
        Assert.Equal([gun], (await NextNoticeAsync()).Guns);

        // A stale expected timestamp version: the transaction rolls back, and its notification with it.
        Assert.Equal(CommitOutcome.VersionConflict, await Store.CommitAsync(gun, null, Files(gun, 2)));
        Assert.Same(ChangeNotice.None, await Signal.WaitAsync(TimeSpan.FromMilliseconds(500), CancellationToken.None));
    }

    [Fact]
    public async Task Delete_NotifiesTheListener_NamingItsGun()
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, Files(gun, 1)));
        Assert.Equal([gun], (await NextNoticeAsync()).Guns);

        Assert.True(await Store.DeleteAsync(gun));
        Assert.Equal([gun], (await NextNoticeAsync()).Guns);
    }

    [Fact]
    public async Task NotificationWithoutGun_ReportedAsUnnamed()
    {
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var notify = new NpgsqlCommand($"NOTIFY {IChangeSignal.Channel}", connection);
            await notify.ExecuteNonQueryAsync();
        }

        var notice = await NextNoticeAsync();
        Assert.True(notice.Unnamed);
        Assert.Empty(notice.Guns);
    }

    [Fact]
    public async Task CommitBetweenListenAndWait_IsReportedByTheWait()
    {
        await Signal.ListenAsync(CancellationToken.None);
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, Files(gun, 1)));

        Assert.Equal([gun], (await NextNoticeAsync()).Guns);
    }

    // What the read cache's follower relies on after a failure: the wait fails loudly when the listening session
    // ends (a commit in the gap is not notified; the follower reads the changefeed for it), and ListenAsync listens
    // again on a new session.
    [Fact]
    public async Task ListeningSessionTerminated_WaitThrows_ListenAsyncListensAgain()
    {
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var terminate = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'trustserver-test-listener' AND query LIKE 'LISTEN%'",
                connection);
            Assert.Equal(1L, await terminate.ExecuteScalarAsync());
        }

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => Signal.WaitAsync(Patience, CancellationToken.None));
        var missed = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(missed, null, Files(missed, 1)));

        await Signal.ListenAsync(CancellationToken.None);
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, Files(gun, 1)));
        Assert.Equal([gun], (await NextNoticeAsync()).Guns);
    }

    private async Task<ChangeNotice> NextNoticeAsync()
    {
        var notice = await Signal.WaitAsync(Patience, CancellationToken.None);
        Assert.NotSame(ChangeNotice.None, notice);
        return notice;
    }

    private static string NewGun() => $"example.com/signal/{Guid.NewGuid():N}";

    private static MetadataFile[] Files(string gun, long version) =>
        [.. new[] { "root", "targets", "snapshot", "timestamp" }.Select(role => new MetadataFile(role, version, Encoding.UTF8.GetBytes($"{{\"gun\":\"{gun}\",\"role\":\"{role}\",\"v\":{version}}}")))];
}
