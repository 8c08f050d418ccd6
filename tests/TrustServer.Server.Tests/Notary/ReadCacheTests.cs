using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Notary;
using TrustServer.Testing;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Tests.Notary;

/// <summary>
/// The read cache of a running server (SQLite, in-process) against writes that bypass it, as another replica's do:
/// served from the cache until the GUN is dropped, and dropped by the changefeed poll.
/// </summary>
public sealed class ReadCacheTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("trustserver-read-cache-tests");
    private TrustServerInstance _server = null!;

    private MetadataReadCache Cache => _server.Services.GetRequiredService<MetadataReadCache>();

    private IMetadataStore Store => _server.Services.GetRequiredService<IMetadataStore>();

    public async Task InitializeAsync() =>
        _server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("trustserver.db")),
            [new("Caching:Memory:ChangefeedPollSeconds", "1")]);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task WriteOfAnotherReplica_IsServedOnlyOnceTheGunIsDropped()
    {
        const string gun = "example.com/cache/dropped";
        await CommitAsync(gun, null, 1);
        Assert.Equal(1, (await Cache.GetLatestAsync(gun, "targets"))!.Version);

        // Written behind the cache's back; the changefeed poll may or may not have seen it yet, Invalidate certainly has.
        await CommitAsync(gun, 1, 2);
        Cache.Invalidate(gun);

        Assert.Equal(2, (await Cache.GetLatestAsync(gun, "targets"))!.Version);
    }

    [Fact]
    public async Task Hit_ReturnsTheSameStoredFile_WithoutReadingAgain()
    {
        const string gun = "example.com/cache/hit";
        await CommitAsync(gun, null, 1);

        var first = await Cache.GetLatestAsync(gun, "targets");
        var second = await Cache.GetLatestAsync(gun, "targets");

        Assert.Same(first, second);
    }

    [Fact]
    public async Task NotFound_IsCachedToo_AndDroppedWithTheGun()
    {
        const string gun = "example.com/cache/not-found";
        Assert.Null(await Cache.GetLatestAsync(gun, "targets"));

        await CommitAsync(gun, null, 1);
        Cache.Invalidate(gun);

        Assert.Equal(1, (await Cache.GetLatestAsync(gun, "targets"))!.Version);
    }

    [Fact]
    public async Task ChangefeedPoll_DropsAGunAnotherReplicaWrote()
    {
        const string gun = "example.com/cache/polled";
        await CommitAsync(gun, null, 1);
        var cached = await Cache.GetLatestAsync(gun, "targets");

        await CommitAsync(gun, 1, 2);

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

    [Fact]
    public async Task Suspended_ReadsGoToTheDatabase_ResumeDropsWhatWasReadBefore()
    {
        const string gun = "example.com/cache/suspended";
        await CommitAsync(gun, null, 1);
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

    // A timestamp and a targets file at this version, as one update (the store does not parse them).
    private Task<CommitOutcome> CommitAsync(string gun, long? expectedTimestampVersion, long version) =>
        Store.CommitAsync(gun, expectedTimestampVersion,
        [
            new MetadataFile("targets", version, Encoding.UTF8.GetBytes($"targets {gun} {version}")),
            new MetadataFile("timestamp", version, Encoding.UTF8.GetBytes($"timestamp {gun} {version}")),
        ]);
}
