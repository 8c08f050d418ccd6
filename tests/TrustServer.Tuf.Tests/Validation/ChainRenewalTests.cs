using System.Security.Cryptography;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>The server's renewal of snapshot and timestamp (spec server-api.md §6).</summary>
public sealed class ChainRenewalTests
{
    [Fact]
    public async Task Assess_FreshChain_NeedsNothing()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();

        Assert.Equal(RenewalNeed.None, ChainRenewal.Assess(Chain(repo), repo.Clock.Now));
    }

    [Fact]
    public async Task Assess_ExpiredTimestamp_NeedsTheTimestamp()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();

        Assert.Equal(RenewalNeed.Timestamp, ChainRenewal.Assess(Chain(repo), repo.Clock.Now.AddDays(15)));
    }

    [Fact]
    public async Task Assess_TimestampExpiringWithinTheMargin_NeedsTheTimestamp()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var chain = Chain(repo);

        Assert.Equal(RenewalNeed.None, ChainRenewal.Assess(chain, repo.Clock.Now.AddDays(10), TimeSpan.FromDays(3)));
        Assert.Equal(RenewalNeed.Timestamp, ChainRenewal.Assess(chain, repo.Clock.Now.AddDays(10), TimeSpan.FromDays(5)));
    }

    [Fact]
    public async Task Assess_ExpiredSnapshot_NeedsBoth()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        Assert.Equal(RenewalNeed.SnapshotAndTimestamp, ChainRenewal.Assess(Chain(repo), repo.Clock.Now.AddYears(4)));
    }

    [Fact]
    public async Task DueAt_IsTheFirstInstantAssessWithTheSameMarginsAsksForRenewal()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var chain = Chain(repo);
        var margin = ServerLifetimes.Default.TimestampMargin;

        var due = ChainRenewal.DueAt(chain, margin, ServerLifetimes.Default.SnapshotMargin);

        Assert.Equal(chain.Timestamp.Metadata.Expires.Instant - margin, due.AddTicks(-1));
        Assert.Equal(RenewalNeed.None, ChainRenewal.Assess(chain, due.AddTicks(-1), margin, ServerLifetimes.Default.SnapshotMargin));
        Assert.Equal(RenewalNeed.Timestamp, ChainRenewal.Assess(chain, due, margin, ServerLifetimes.Default.SnapshotMargin));
    }

    [Fact]
    public async Task AssessAhead_SnapshotTheServerDoesNotHold_IsNotConsidered()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var chain = Chain(repo);
        var late = repo.Clock.Now.AddYears(4);

        Assert.Equal(RenewalNeed.SnapshotAndTimestamp, ChainRenewal.Assess(chain, late, TimeSpan.Zero, TimeSpan.Zero));
        Assert.Equal(RenewalNeed.Timestamp, ChainRenewal.Assess(chain, late, TimeSpan.Zero, null));
        Assert.Equal(chain.Timestamp.Metadata.Expires.Instant, ChainRenewal.EarliestServerExpiry(chain, snapshotServerHeld: false));
    }

    [Fact]
    public async Task Renew_UsesTheConfiguredLifetimes()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var lifetimes = new ServerLifetimes(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));

        var renewed = await new ChainRenewal(repo.Clock, lifetimes).RenewAsync(
            repo.Gun, repo.Current("root"), Chain(repo), RenewalNeed.SnapshotAndTimestamp, repo.Server, default);

        Assert.Equal(repo.Clock.Now.AddMinutes(1), renewed.Timestamp.Metadata.Expires.Instant);
        Assert.Equal(repo.Clock.Now.AddMinutes(5), renewed.Snapshot!.Metadata.Expires.Instant);
    }

    [Fact]
    public async Task Renew_Timestamp_DescribesTheSameSnapshotWithTheNextVersion()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var chain = Chain(repo);
        repo.Clock.Now = repo.Clock.Now.AddDays(15);

        var renewed = await Renewal(repo).RenewAsync(repo.Gun, repo.Current("root"), chain, RenewalNeed.Timestamp, repo.Server, default);

        Assert.Null(renewed.Snapshot);
        var timestamp = renewed.Timestamp.Metadata;
        Assert.Equal(chain.Timestamp.Metadata.Version + 1, timestamp.Version);
        Assert.Equal(repo.Clock.Now + ServerLifetimes.Default.Timestamp, timestamp.Expires.Instant);
        Assert.Equal(SHA256.HashData(repo.Current("snapshot")), timestamp.Meta["snapshot"].Hashes["sha256"]);
        Assert.Null(ThresholdVerifier.Verify(timestamp.Envelope, RootOf(repo).GetBaseRole("timestamp")));
        Assert.Equal([("timestamp", timestamp.Version)], renewed.Files.Select(f => (f.Role, f.Version)));
        Assert.Equal(RenewalNeed.None, ChainRenewal.Assess(new CurrentChain(renewed.Timestamp, chain.Snapshot), repo.Clock.Now));
    }

    [Fact]
    public async Task Renew_Snapshot_KeepsEveryEntryAndTheTimestampDescribesTheNewSnapshot()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var chain = Chain(repo);
        repo.Clock.Now = repo.Clock.Now.AddYears(4);
        var root = TestRepository.Sign(repo.RootBody(expires: repo.Clock.Now.AddYears(1)), repo.RootSigner);

        var renewed = await Renewal(repo).RenewAsync(repo.Gun, root, chain, RenewalNeed.SnapshotAndTimestamp, repo.Server, default);

        var snapshot = Assert.IsType<ChainFile>(renewed.Snapshot).Metadata;
        Assert.Equal(chain.Snapshot.Metadata.Version + 1, snapshot.Version);
        Assert.Equal(repo.Clock.Now + ServerLifetimes.Default.Snapshot, snapshot.Expires.Instant);
        Assert.Equal(SHA256.HashData(root), snapshot.Meta["root"].Hashes["sha256"]);
        Assert.Equal(chain.Snapshot.Metadata.Meta["targets"].Hashes["sha256"], snapshot.Meta["targets"].Hashes["sha256"]);
        Assert.Equal(SHA256.HashData(renewed.Snapshot.Bytes), renewed.Timestamp.Metadata.Meta["snapshot"].Hashes["sha256"]);
        Assert.Equal(["snapshot", "timestamp"], renewed.Files.Select(f => f.Role));
    }

    [Fact]
    public async Task Renew_SnapshotKeyNotHeld_Refused()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var chain = Chain(repo);
        repo.Clock.Now = repo.Clock.Now.AddMonths(6);

        var error = await Assert.ThrowsAsync<ServerKeyNotHeldException>(() =>
            Renewal(repo).RenewAsync(repo.Gun, repo.Current("root"), chain, RenewalNeed.SnapshotAndTimestamp, repo.Server, default));
        Assert.Equal("snapshot", error.Role);
        Assert.Contains($"\"notary key rotate {repo.Gun} snapshot -r\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renew_TimestampKeyNotHeld_Refused()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        repo.Server.Forget(repo.TimestampKey.Key);

        var error = await Assert.ThrowsAsync<ServerKeyNotHeldException>(() =>
            Renewal(repo).RenewAsync(repo.Gun, repo.Current("root"), Chain(repo), RenewalNeed.Timestamp, repo.Server, default));
        Assert.Equal("timestamp", error.Role);
        Assert.Contains($"\"notary key rotate {repo.Gun} timestamp -r\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renew_ExpiredRoot_Refused()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        repo.Clock.Now = repo.Clock.Now.AddYears(2);

        var error = await Assert.ThrowsAsync<ChainRenewalException>(() =>
            Renewal(repo).RenewAsync(repo.Gun, repo.Current("root"), Chain(repo), RenewalNeed.Timestamp, repo.Server, default));
        Assert.Contains("root expired", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renew_RootNotSignedByItsOwnKeys_Refused()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var unsigned = TestRepository.Sign(repo.RootBody(), repo.TargetsKey);

        var error = await Assert.ThrowsAsync<ChainRenewalException>(() =>
            Renewal(repo).RenewAsync(repo.Gun, unsigned, Chain(repo), RenewalNeed.Timestamp, repo.Server, default));
        Assert.Contains("root is not validly signed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renew_KeptSnapshotNotValidlySigned_Refused()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var chain = Chain(repo);
        var forged = TestRepository.Sign(repo.SnapshotBody(1, [("root", repo.Current("root")), ("targets", repo.Current("targets"))]), repo.TargetsKey);
        var forgedChain = chain with { Snapshot = new ChainFile(forged, MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(forged))) };

        var error = await Assert.ThrowsAsync<ChainRenewalException>(() =>
            Renewal(repo).RenewAsync(repo.Gun, repo.Current("root"), forgedChain, RenewalNeed.Timestamp, repo.Server, default));
        Assert.Contains("snapshot is not validly signed", error.Message, StringComparison.Ordinal);
    }

    private static ChainRenewal Renewal(TestRepository repo) => new(repo.Clock);

    private static RootMetadata RootOf(TestRepository repo) => RootMetadata.FromEnvelope(SignedEnvelope.Parse(repo.Current("root")));

    private static CurrentChain Chain(TestRepository repo)
    {
        var timestamp = repo.Current("timestamp");
        var snapshot = repo.Current("snapshot");
        return new CurrentChain(
            new ChainFile(timestamp, MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(timestamp))),
            new ChainFile(snapshot, MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(snapshot))));
    }
}
