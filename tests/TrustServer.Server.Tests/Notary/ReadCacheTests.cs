using System.Reflection;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Notary;
using TrustServer.Server.Observability;
using TrustServer.Testing;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Tests.Notary;

/// <summary>
/// The read cache of a running server (SQLite, in-process) against writes that bypass it, as another replica's do:
/// served from the cache until the GUN is dropped. The changefeed is polled only hourly here, so nothing else drops
/// a GUN while a test runs (<see cref="ChangefeedPollTests"/> covers the poll); the store can be made to fail.
/// </summary>
public sealed class ReadCacheTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("trustserver-read-cache-tests");
    private TrustServerInstance _server = null!;

    private MetadataReadCache Cache => _server.Services.GetRequiredService<MetadataReadCache>();

    private IMetadataStore Store => _server.Services.GetRequiredService<IMetadataStore>();

    private FailingStore Failures => (FailingStore)Store;

    public async Task InitializeAsync()
    {
        _server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("trustserver.db")),
            [new("Caching:Memory:ChangefeedPollSeconds", "3600")],
            services => services.Decorate<IMetadataStore>((inner, _) => FailingStore.Wrap(inner)));
        await WaitUntilFollowingAsync(_server);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task WriteOfAnotherReplica_IsServedOnlyOnceTheGunIsDropped()
    {
        const string gun = "example.com/cache/dropped";
        await CommitAsync(_server, gun, null, 1);
        Assert.Equal(1, (await Cache.GetLatestAsync(gun, "targets"))!.Version);

        // Written behind the cache's back; the changefeed poll may or may not have seen it yet, Invalidate certainly has.
        await CommitAsync(_server, gun, 1, 2);
        Cache.Invalidate(gun);

        Assert.Equal(2, (await Cache.GetLatestAsync(gun, "targets"))!.Version);
    }

    [Fact]
    public async Task Hit_ReturnsTheSameStoredFile_WithoutReadingAgain()
    {
        const string gun = "example.com/cache/hit";
        await CommitAsync(_server, gun, null, 1);

        var first = await Cache.GetLatestAsync(gun, "targets");
        var second = await Cache.GetLatestAsync(gun, "targets");

        Assert.Same(first, second);
    }

    [Fact]
    public async Task NotFound_IsCachedToo_AndDroppedWithTheGun()
    {
        const string gun = "example.com/cache/not-found";
        Assert.Null(await Cache.GetLatestAsync(gun, "targets"));

        await CommitAsync(_server, gun, null, 1);
        Cache.Invalidate(gun);

        Assert.Equal(1, (await Cache.GetLatestAsync(gun, "targets"))!.Version);
    }

    [Fact]
    public async Task Suspended_ReadsGoToTheDatabase_ResumeDropsWhatWasReadBefore()
    {
        const string gun = "example.com/cache/suspended";
        await CommitAsync(_server, gun, null, 1);
        var before = await Cache.GetLatestAsync(gun, "targets");
        Cache.Suspend();
        try
        {
            Assert.NotSame(before, await Cache.GetLatestAsync(gun, "targets"));
        }
        finally
        {
            Cache.Resume();
        }

        var afterResume = await Cache.GetLatestAsync(gun, "targets");
        Assert.NotSame(before, afterResume);
        Assert.Same(afterResume, await Cache.GetLatestAsync(gun, "targets"));
    }

    [Fact]
    public async Task ConcurrentMisses_ShareOneDatabaseRead()
    {
        const string gun = "example.com/cache/one-read";
        await CommitAsync(_server, gun, null, 1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Failures.Hold = release.Task;
        try
        {
            var before = Failures.FileReads;
            var reads = Enumerable.Range(0, 32).Select(_ => Cache.GetLatestAsync(gun, "targets")).ToArray();
            release.SetResult();
            var files = await Task.WhenAll(reads);

            Assert.Equal(1, Failures.FileReads - before);
            Assert.All(files, file => Assert.Same(files[0], file));
            Assert.Equal(1, files[0]!.Version);
        }
        finally
        {
            Failures.Hold = null;
        }
    }

    [Fact]
    public async Task MissAfterAChange_DoesNotJoinAReadStartedBeforeIt()
    {
        const string gun = "example.com/cache/read-after-change";
        await CommitAsync(_server, gun, null, 1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Failures.Hold = release.Task;
        try
        {
            var before = Failures.FileReads;
            var early = Cache.GetLatestAsync(gun, "targets");
            await CommitAsync(_server, gun, 1, 2);
            Cache.Invalidate(gun);
            var late = Cache.GetLatestAsync(gun, "targets");
            release.SetResult();

            Assert.Equal(2, (await late)!.Version);
            _ = await early;
            Assert.Equal(2, Failures.FileReads - before);
        }
        finally
        {
            Failures.Hold = null;
        }
    }

    [Fact]
    public async Task CancelledWaiter_DoesNotCancelTheSharedRead()
    {
        const string gun = "example.com/cache/cancelled-waiter";
        await CommitAsync(_server, gun, null, 1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Failures.Hold = release.Task;
        try
        {
            using var cancellation = new CancellationTokenSource();
            var cancelled = Cache.GetLatestAsync(gun, "targets", cancellation.Token);
            var other = Cache.GetLatestAsync(gun, "targets");
            await cancellation.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
            release.SetResult();

            Assert.Equal(1, (await other)!.Version);
        }
        finally
        {
            Failures.Hold = null;
        }
    }

    [Fact]
    public async Task DatabaseFailure_ServesTheLastRead_UntilTheGunChanges()
    {
        const string gun = "example.com/cache/stale";
        await CommitAsync(_server, gun, null, 1);
        var read = await Cache.GetLatestAsync(gun, "targets");
        Cache.Suspend(); // no fresh hits: every read goes to the store
        try
        {
            Failures.Failing = true;
            Assert.Same(read, await Cache.GetLatestAsync(gun, "targets"));

            Failures.Failing = false;
            await CommitAsync(_server, gun, 1, 2);
            Cache.Invalidate(gun);
            Failures.Failing = true;

            // Known to be superseded: not served, the failure shows.
            await Assert.ThrowsAsync<TimeoutException>(() => Cache.GetLatestAsync(gun, "targets"));
        }
        finally
        {
            Failures.Failing = false;
            Cache.Resume();
        }
    }

    [Fact]
    public async Task DatabaseFailure_NotFoundIsNeverServedStale()
    {
        const string gun = "example.com/cache/stale-not-found";
        Assert.Null(await Cache.GetLatestAsync(gun, "targets"));
        Cache.Suspend();
        try
        {
            Failures.Failing = true;
            await Assert.ThrowsAsync<TimeoutException>(() => Cache.GetLatestAsync(gun, "targets"));
        }
        finally
        {
            Failures.Failing = false;
            Cache.Resume();
        }
    }

    private static byte[] Envelope(string type, long version) =>
        Encoding.UTF8.GetBytes($"{{\"signed\":{{\"_type\":\"{type}\",\"expires\":\"2099-01-01T00:00:00Z\",\"version\":{version}}},\"signatures\":[]}}");

    // Hits are served once the changefeed follower has caught up after the start (it runs in the background).
    internal static async Task WaitUntilFollowingAsync(TrustServerInstance server)
    {
        var cache = server.Services.GetRequiredService<MetadataReadCache>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!cache.Following)
        {
            Assert.True(DateTime.UtcNow < deadline, "the changefeed follower did not start within 30 s");
            await Task.Delay(20);
        }
    }

    // A timestamp and a targets file at this version, as one update, each a metadata envelope (stale-if-error reads
    // its expiry).
    internal static Task<CommitOutcome> CommitAsync(TrustServerInstance server, string gun, long? expectedTimestampVersion, long version) =>
        server.Services.GetRequiredService<IMetadataStore>().CommitAsync(gun, expectedTimestampVersion,
        [
            new MetadataFile("targets", version, Envelope("Targets", version)),
            new MetadataFile("timestamp", version, Envelope("Timestamp", version)),
        ],
        new AuditContext(AuditActions.Publish, AuditActor.System("test")));
}

/// <summary>The changefeed poll drops a GUN another replica wrote (SQLite has no notifications).</summary>
public sealed class ChangefeedPollTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("trustserver-changefeed-poll-tests");
    private TrustServerInstance _server = null!;

    private MetadataReadCache Cache => _server.Services.GetRequiredService<MetadataReadCache>();

    public async Task InitializeAsync()
    {
        _server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("trustserver.db")),
            [new("Caching:Memory:ChangefeedPollSeconds", "1")]);
        await ReadCacheTests.WaitUntilFollowingAsync(_server);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task ChangefeedPoll_DropsAGunAnotherReplicaWrote()
    {
        const string gun = "example.com/cache/polled";
        await ReadCacheTests.CommitAsync(_server, gun, null, 1);
        var cached = await Cache.GetLatestAsync(gun, "targets");

        await ReadCacheTests.CommitAsync(_server, gun, 1, 2);

        // The follower reads the changefeed every second (SQLite has no notifications).
        var deadline = DateTime.UtcNow.AddSeconds(15);
        StoredFile? served;
        while ((served = await Cache.GetLatestAsync(gun, "targets"))!.Version == 1 && DateTime.UtcNow < deadline)
        {
            Assert.Same(cached, served);
            await Task.Delay(100);
        }

        Assert.Equal(2, served.Version);
    }
}

/// <summary>
/// The server's store, made to fail on demand as an unreachable database does (a timeout), or to hold its file reads
/// until released (<see cref="Hold"/>), counting them.
/// </summary>
public class FailingStore : DispatchProxy
{
    private IMetadataStore _inner = null!;
    private int _fileReads;

    public bool Failing { get; set; }

    /// <summary>While set, every file read (a method returning a stored file) waits for this task before it reads.</summary>
    public Task? Hold { get; set; }

    /// <summary>The file reads that reached the store.</summary>
    public int FileReads => Volatile.Read(ref _fileReads);

    public static IMetadataStore Wrap(IMetadataStore inner)
    {
        var proxy = Create<IMetadataStore, FailingStore>();
        ((FailingStore)(object)proxy)._inner = inner;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (Failing)
        {
            throw new TimeoutException("the test made the database fail");
        }

        if (targetMethod!.ReturnType != typeof(Task<StoredFile?>))
        {
            return targetMethod.Invoke(_inner, args);
        }

        Interlocked.Increment(ref _fileReads);
        return Hold is { } hold ? ReadAfterAsync(hold, () => (Task<StoredFile?>)targetMethod.Invoke(_inner, args)!) : targetMethod.Invoke(_inner, args);
    }

    private static async Task<StoredFile?> ReadAfterAsync(Task hold, Func<Task<StoredFile?>> read)
    {
        await hold;
        return await read();
    }
}
