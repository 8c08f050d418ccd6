using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Compat.Tests.Support;
using TrustServer.Server.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Notary;

/// <summary>
/// A replica validates an update against the state its own last commit left (PublishedStates), never trusting it
/// further than the commit's check of the stored timestamp: two replicas on one PostgreSQL database, one writing
/// behind the other's back.
/// </summary>
public sealed class PublishedStateTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("trustserver-published-state");
    private TrustServerInstance? _first;
    private TrustServerInstance? _second;

    private TrustServerInstance First => _first!;

    private TrustServerInstance Second => _second!;

    public async Task InitializeAsync()
    {
        // One database and one key store passphrase: two replicas of one deployment.
        var passphrase = _directory.Combine("passphrase");
        var storage = new ServerStorage.Postgres(database.ConnectionString);
        _first = await TrustServerInstance.StartAsync(storage, passphraseFile: passphrase);
        _second = await TrustServerInstance.StartAsync(storage, passphraseFile: passphrase);
    }

    public async Task DisposeAsync()
    {
        await First.DisposeAsync();
        await Second.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task ConsecutiveUpdatesOnOneReplica_AreAcceptedWithoutRereading()
    {
        using var repo = await ServerRepository.CreateAsync(First.Http, "example.com/state/consecutive");
        await repo.InitializeAsync();
        var rereads = await RereadsAsync(First);

        for (var version = 2; version <= 4; version++)
        {
            var targets = repo.Targets(version, $"v{version}");
            var response = await repo.PublishAsync(("targets", targets), ("snapshot", repo.Snapshot(version, targets)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(targets, await (await repo.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(rereads, await RereadsAsync(First));
    }

    [Fact]
    public async Task UpdateAfterTheOtherReplicaPublished_IsCommittedOnTheStoredState()
    {
        using var repo = await ServerRepository.CreateAsync(First.Http, "example.com/state/alternating");
        await repo.InitializeAsync();
        var viaSecond = repo.Via(Second.Http);
        var stale = (await RereadsAsync(First)).Stale;

        var second = repo.Targets(2, "second");
        Assert.Equal(HttpStatusCode.OK, (await viaSecond.PublishAsync(("targets", second), ("snapshot", repo.Snapshot(2, second)))).StatusCode);

        // The first replica remembers version 1: validation against it passes, the commit finds timestamp 2 stored,
        // and the update is validated again against the database, where version 3 follows version 2.
        var third = repo.Targets(3, "third");
        var response = await repo.PublishAsync(("targets", third), ("snapshot", repo.Snapshot(3, third)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(stale + 1, (await RereadsAsync(First)).Stale);
        Assert.Equal(third, await (await repo.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, (await repo.GetAsync("2.targets.json")).StatusCode);
    }

    [Fact]
    public async Task RepositoryRecreatedWithNewKeysOnTheOtherReplica_OldKeysAreRefused_NewOwnerAccepted()
    {
        const string Gun = "example.com/state/recreated";
        using var old = await ServerRepository.CreateAsync(First.Http, Gun);
        await old.InitializeAsync();
        var oldTargets = old.Targets(2, "old");
        Assert.Equal(HttpStatusCode.OK, (await old.PublishAsync(("targets", oldTargets), ("snapshot", old.Snapshot(2, oldTargets)))).StatusCode);

        // The other replica deletes the repository, and a new owner with new keys brings it back up to the same
        // timestamp version (2) that the first replica remembers.
        Assert.Equal(HttpStatusCode.OK, (await Second.Http.DeleteAsync(old.TufUrl)).StatusCode);
        using var owner = await ServerRepository.CreateAsync(Second.Http, Gun);
        await owner.InitializeAsync();
        var ownerTargets = owner.Targets(2, "owner");
        Assert.Equal(HttpStatusCode.OK, (await owner.PublishAsync(("targets", ownerTargets), ("snapshot", owner.Snapshot(2, ownerTargets)))).StatusCode);
        var rereads = await RereadsAsync(First);

        // Against the remembered state the old keys' update is valid; the commit finds another timestamp 2 and the
        // update is validated against the stored repository, whose root does not know those keys.
        var replay = old.Targets(3, "old-again");
        var refused = await old.PublishAsync(("targets", replay), ("snapshot", old.Snapshot(3, replay)));

        await NotaryHttp.AssertNotaryErrorAsync(refused, HttpStatusCode.BadRequest, "INVALID_UPDATE");
        Assert.Equal(rereads.Stale + 1, (await RereadsAsync(First)).Stale);
        Assert.Equal(ownerTargets, await (await owner.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());

        // The new owner's next update through the first replica is accepted.
        var next = owner.Targets(3, "owner-next");
        using var ownerViaFirst = owner.Via(First.Http);
        Assert.Equal(HttpStatusCode.OK, (await ownerViaFirst.PublishAsync(("targets", next), ("snapshot", owner.Snapshot(3, next)))).StatusCode);
        Assert.Equal(next, await (await ownerViaFirst.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task NewOwnerRejectedByTheRememberedState_IsAcceptedAfterRereading()
    {
        const string Gun = "example.com/state/new-owner";
        using var old = await ServerRepository.CreateAsync(First.Http, Gun);
        await old.InitializeAsync();
        Assert.Equal(HttpStatusCode.OK, (await Second.Http.DeleteAsync(old.TufUrl)).StatusCode);
        using var owner = await ServerRepository.CreateAsync(Second.Http, Gun);
        await owner.InitializeAsync();
        var rereads = await RereadsAsync(First);

        // The first replica remembers the old root: the new owner's signatures fail there, and pass on the stored state.
        var next = owner.Targets(2, "owner");
        using var ownerViaFirst = owner.Via(First.Http);
        var response = await ownerViaFirst.PublishAsync(("targets", next), ("snapshot", owner.Snapshot(2, next)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(rereads.Rejected + 1, (await RereadsAsync(First)).Rejected);
        Assert.Equal(next, await (await ownerViaFirst.GetAsync("targets.json")).Content.ReadAsByteArrayAsync());
    }

    private static async Task<(double Stale, double Rejected)> RereadsAsync(TrustServerInstance server)
    {
        var metrics = await server.Http.GetStringAsync("/metrics");
        return (Count("stale"), Count("rejected"));

        double Count(string reason) => metrics.Split('\n')
            .Where(l => l.StartsWith($"trustserver_publish_state_rereads_total{{reason=\"{reason}\"}} ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .SingleOrDefault();
    }
}
