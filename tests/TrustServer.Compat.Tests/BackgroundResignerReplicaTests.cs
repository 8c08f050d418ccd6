using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Notary;
using TrustServer.Testing;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Compat.Tests;

/// <summary>
/// The background re-signer with two replicas on one PostgreSQL database (1-minute drill lifetimes, renewed when
/// less than 0.9 is left, i.e. 6 s after signing): exactly one replica renews a given repository — one new timestamp
/// version per renewal in the changefeed, one replica holding the lease — and when it stops, the other takes over. The real notary client accepts the renewed metadata.
/// </summary>
public sealed class BackgroundResignerReplicaTests : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private static readonly KeyValuePair<string, string?>[] DrillLifetimes =
    [
        new("Signing:Lifetimes:Timestamp", "00:01:00"),
        new("Signing:Lifetimes:RenewWhenRemaining", "0.9"),
        new("Serilog:MinimumLevel:Override:TrustServer.Server.Notary.ChainResigner", "Information"), // the re-signs, by replica
    ];

    private readonly PostgresDatabaseFixture _database;
    private readonly TemporaryDirectory _directory = new("trustserver-resigner-replicas");
    private readonly CapturingLoggerProvider _firstLogs = new();
    private readonly CapturingLoggerProvider _secondLogs = new();
    private TrustServerInstance? _first;
    private TrustServerInstance? _second;

    public BackgroundResignerReplicaTests(PostgresDatabaseFixture database) => _database = database;

    public async Task InitializeAsync()
    {
        var passphrase = _directory.Combine("passphrase");
        var storage = new ServerStorage.Postgres(_database.ConnectionString);
        _first = await TrustServerInstance.StartAsync(storage, DrillLifetimes, s => s.AddSingleton<ILoggerProvider>(_firstLogs), passphrase);
        _second = await TrustServerInstance.StartAsync(storage, DrillLifetimes, s => s.AddSingleton<ILoggerProvider>(_secondLogs), passphrase);
    }

    public async Task DisposeAsync()
    {
        if (_first is not null)
        {
            await _first.DisposeAsync();
        }

        if (_second is not null)
        {
            await _second.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task ExactlyOneReplicaRenewsEachRepository_TheOtherTakesOverWhenItStops()
    {
        var guns = Enumerable.Range(0, 3).Select(i => $"example.com/resigner/replicas-{i}").ToList();
        using var client = new NotaryCli(_first!.Url);
        foreach (var gun in guns)
        {
            await client.RunCheckedAsync(["init", gun, "--publish"]);
        }

        var store = _first.Services.GetRequiredService<IMetadataStore>();
        await EventuallyAsync(TimeSpan.FromSeconds(40), async () => (await VersionsAsync(store, guns)).All(v => v >= 3));

        // One worker: exactly one replica holds the lease, and every renewal is one new timestamp version.
        var (worker, standby) = Working(_first) ? (_first, _second!) : (_second!, _first);
        Assert.True(Working(worker) && !Working(standby), "exactly one replica must work");
        foreach (var gun in guns)
        {
            await AssertOneVersionPerRenewalAsync(store, gun, ResignsOf(guns: [gun]).Count);
        }

        // The worker stops (its session, and with it the advisory lock, ends): the other replica takes over.
        var before = await VersionsAsync(store, guns);
        if (worker == _first)
        {
            _first = null;
        }
        else
        {
            _second = null;
        }

        await worker.DisposeAsync();
        var survivorStore = standby.Services.GetRequiredService<IMetadataStore>();
        await EventuallyAsync(TimeSpan.FromSeconds(30), async () =>
            (await VersionsAsync(survivorStore, guns)).Zip(before).All(v => v.First >= v.Second + 2));
        Assert.True(Working(standby));
        foreach (var gun in guns)
        {
            await AssertOneVersionPerRenewalAsync(survivorStore, gun, ResignsOf(guns: [gun]).Count);
        }

        // A fresh client accepts the renewed metadata (the timestamp it gets was signed by the re-signer).
        using var reader = new NotaryCli(standby.Url);
        await reader.RunCheckedAsync(["list", guns[0]]);
    }

    // The changefeed holds exactly versions 1..n of the timestamp, once each: init plus one per logged renewal.
    private static async Task AssertOneVersionPerRenewalAsync(IMetadataStore store, string gun, int renewals)
    {
        var changes = await store.GetChangesAsync(gun, 0, 1000);
        var versions = changes.Select(c => c.Version).ToList();
        Assert.Equal(Enumerable.Range(1, versions.Count).Select(v => (long)v), versions);
        Assert.True(versions.Count - 1 >= renewals && versions.Count - 1 <= renewals + 1, $"{gun}: {versions.Count} versions for {renewals} logged renewals");
    }

    private static bool Working(TrustServerInstance replica) => replica.Services.GetRequiredService<ResignerStatus>().Working;

    // The re-signs logged (by either replica: in one test process Serilog's loggers of two hosts may share a sink, so
    // the line does not tell which replica wrote it; the lease state above does).
    private List<string> ResignsOf(IEnumerable<string> guns) =>
        _firstLogs.Lines.Concat(_secondLogs.Lines).Where(l => guns.Any(g => l.Contains($"Re-signed \"{g}\" (\"schedule\")", StringComparison.Ordinal))).ToList();

    private static async Task<List<long>> VersionsAsync(IMetadataStore store, IEnumerable<string> guns)
    {
        var versions = new List<long>();
        foreach (var gun in guns)
        {
            versions.Add((await store.GetLatestAsync(gun, RoleName.Timestamp))!.Version);
        }

        return versions;
    }

    private static async Task EventuallyAsync(TimeSpan bound, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + bound;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not reached within {bound}");
            await Task.Delay(200);
        }
    }
}
