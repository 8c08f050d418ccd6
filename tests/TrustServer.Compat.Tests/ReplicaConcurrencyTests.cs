using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// Two TrustServer replicas on one PostgreSQL database: concurrent publishes of one repository and concurrent
/// re-signing of expired metadata are decided by the database, never by process-local state.
/// </summary>
public sealed class ReplicaConcurrencyTests : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private readonly PostgresDatabaseFixture _database;
    private readonly ManualClock _clock = new();
    private readonly TemporaryDirectory _directory = new("trustserver-replicas");
    private TrustServerInstance? _first;
    private TrustServerInstance? _second;

    public ReplicaConcurrencyTests(PostgresDatabaseFixture database) => _database = database;

    private TrustServerInstance First => _first!;

    private TrustServerInstance Second => _second!;

    public async Task InitializeAsync()
    {
        // Both replicas share the database and the key store's passphrase, as a real deployment does.
        var passphrase = _directory.Combine("passphrase");
        var storage = new ServerStorage.Postgres(_database.ConnectionString);
        _first = await TrustServerInstance.StartAsync(storage, configure: s => s.AddSingleton<TimeProvider>(_clock), passphraseFile: passphrase);
        // The second replica reads the changefeed only hourly: what it learns within the coherence bound, it learned
        // from the notifications of the first one's commits.
        _second = await TrustServerInstance.StartAsync(
            storage, [new("Caching:Memory:ChangefeedPollSeconds", "3600")], s => s.AddSingleton<TimeProvider>(_clock), passphrase);
    }

    public async Task DisposeAsync()
    {
        await First.DisposeAsync();
        await Second.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task TwoClientsPublishingToOneRepositoryOnTwoReplicas_NothingLostOrHalfStored()
    {
        var gun = $"example.com/replicas/publish-{Guid.NewGuid():N}"[..48];
        using var a = new NotaryCli(First.Url);
        using var b = new NotaryCli(Second.Url);
        using var files = new TemporaryDirectory("replica-payload");
        var payload = files.Combine("p.txt");
        await File.WriteAllTextAsync(payload, "payload\n");
        await a.RunCheckedAsync(["init", gun, "--publish"]);
        CopyDirectory(a.TrustDirectory, b.TrustDirectory); // b holds the same keys: a second publisher

        for (var round = 0; round < 3; round++)
        {
            await a.RunCheckedAsync(["add", gun, $"a{round}", payload]);
            await b.RunCheckedAsync(["add", gun, $"b{round}", payload]);
            var feedBefore = await ChangeCountAsync(First, gun);
            var versionBefore = await TargetsVersionAsync(First, gun);

            var results = await Task.WhenAll(a.RunAsync(["publish", gun]), b.RunAsync(["publish", gun]));

            // When both publishes read the repository before either committed, exactly one wins and the other gets
            // VERSION; when one finished first, the other client rebased on it and both win. Either way nothing is
            // lost or half-stored: one targets version and one changefeed record per winner, every winner's target
            // present, no loser's target.
            var winners = results.Count(r => r.Succeeded);
            Assert.True(winners >= 1, string.Join("\n---\n", results.Select(r => r.ToString())));
            foreach (var loser in results.Where(r => !r.Succeeded))
            {
                // 400 VERSION carries no validation detail, so the client reports a plain rejection.
                Assert.True(loser.StandardOutput.Contains("trust server rejected operation", StringComparison.Ordinal), loser.ToString());
            }

            await EventuallyAsync(async () => await TargetsVersionAsync(Second, gun) == versionBefore + winners);
            Assert.Equal(HttpStatusCode.NotFound, (await First.Http.GetAsync($"/v2/{gun}/_trust/tuf/{versionBefore + winners + 1}.targets.json")).StatusCode);
            Assert.Equal(feedBefore + winners, await ChangeCountAsync(Second, gun));
            var targets = await Second.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/targets.json");
            Assert.Equal(results[0].Succeeded, targets.Contains($"\"a{round}\"", StringComparison.Ordinal));
            Assert.Equal(results[1].Succeeded, targets.Contains($"\"b{round}\"", StringComparison.Ordinal));

            // A loser drops its stale change and catches up before the next round.
            foreach (var (client, result) in new[] { (a, results[0]), (b, results[1]) }.Where(p => !p.Item2.Succeeded))
            {
                await client.RunCheckedAsync(["reset", gun, "--all"]);
                await client.RunCheckedAsync(["list", gun]);
            }
        }
    }

    [Fact]
    public async Task ExpiredTimestampReadOnTwoReplicasAtOnce_IsResignedOnce()
    {
        var gun = $"example.com/replicas/resign-{Guid.NewGuid():N}"[..48];
        using var client = new NotaryCli(First.Url);
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var original = await TimestampAsync(First, gun);
        Assert.Equal(1, original.Version);

        _clock.Advance(TimeSpan.FromDays(15));
        var reads = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? First : Second).Http.GetAsync($"/v2/{gun}/_trust/tuf/timestamp.json")));

        Assert.All(reads, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var bodies = await Task.WhenAll(reads.Select(r => r.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());
        var resigned = await TimestampAsync(Second, gun);
        Assert.Equal(2, resigned.Version);
        Assert.True(resigned.Expires > _clock.GetUtcNow().AddDays(13));
        Assert.Equal(HttpStatusCode.NotFound, (await First.Http.GetAsync($"/v2/{gun}/_trust/tuf/3.timestamp.json")).StatusCode);
        Assert.Equal(2, await ChangeCountAsync(First, gun));

        // One audit entry of the one re-sign, in its transaction, naming the GET that triggered it.
        var resigns = await First.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(gun, Action: AuditActions.Resign), 0, 10);
        var entry = Assert.Single(resigns.Items).Entry;
        Assert.Equal((AuditOutcomes.Succeeded, "system:lazy-resign", "timestamp@2", "127.0.0.1"), (entry.Outcome, entry.Actor.Principal, entry.Files, entry.Actor.RemoteAddress));
        Assert.False(string.IsNullOrEmpty(entry.Actor.RequestId));

        // The client accepts the re-signed timestamp.
        using var other = new NotaryCli(Second.Url);
        await other.RunCheckedAsync(["list", gun]);
    }

    [Fact]
    public async Task ExpiredServerSnapshot_IsResignedWithTheTimestamp()
    {
        var gun = $"example.com/replicas/snapshot-{Guid.NewGuid():N}"[..48];
        using var client = new NotaryCli(First.Url);
        await client.RunCheckedAsync(["init", gun]);
        await client.RunCheckedAsync(["key", "rotate", gun, "snapshot", "-r"]);
        await client.RunCheckedAsync(["publish", gun]);
        var snapshotVersion = JsonDocument.Parse(await First.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/snapshot.json")).RootElement.GetProperty("signed").GetProperty("version").GetInt64();
        var timestampVersion = (await TimestampAsync(First, gun)).Version;

        _clock.Advance(TimeSpan.FromDays(1096));
        var snapshots = await Task.WhenAll(First.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/snapshot.json"), Second.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/snapshot.json"));

        Assert.Equal(snapshots[0], snapshots[1]);
        var signed = JsonDocument.Parse(snapshots[0]).RootElement.GetProperty("signed");
        Assert.Equal(snapshotVersion + 1, signed.GetProperty("version").GetInt64());
        Assert.True(DateTimeOffset.Parse(signed.GetProperty("expires").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > _clock.GetUtcNow().AddDays(1000));
        Assert.Equal(timestampVersion + 1, (await TimestampAsync(Second, gun)).Version);
        Assert.Equal(HttpStatusCode.NotFound, (await First.Http.GetAsync($"/v2/{gun}/_trust/tuf/{snapshotVersion + 2}.snapshot.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await First.Http.GetAsync($"/v2/{gun}/_trust/tuf/{timestampVersion + 2}.timestamp.json")).StatusCode);
    }

    [Fact]
    public async Task PublishOnOneReplica_TheOtherServesTheNewTimestampWithinTheBound()
    {
        var gun = $"example.com/replicas/coherence-{Guid.NewGuid():N}"[..48];
        using var client = new NotaryCli(First.Url);
        using var files = new TemporaryDirectory("coherence-payload");
        var payload = files.Combine("p.txt");
        await File.WriteAllTextAsync(payload, "payload\n");
        await client.RunCheckedAsync(["init", gun, "--publish"]);

        for (var round = 0; round < 3; round++)
        {
            // Warm the second replica's cache, publish through the first, then watch the second.
            var before = await TimestampAsync(Second, gun);
            Assert.Equal(before, await TimestampAsync(Second, gun));
            await client.RunCheckedAsync(["add", gun, $"t{round}", payload, "-p"]);
            var published = await TimestampAsync(First, gun);
            Assert.Equal(before.Version + 1, published.Version);

            var watch = System.Diagnostics.Stopwatch.StartNew();
            await EventuallyAsync(async () => (await TimestampAsync(Second, gun)).Version == published.Version);
            Assert.True(watch.Elapsed < CoherenceBound, $"the second replica served the new timestamp after {watch.Elapsed}");
        }

        // A deletion reaches the other replica's cache too.
        await client.RunCheckedAsync(["delete", gun, "--remote"]);
        await EventuallyAsync(async () => (await Second.Http.GetAsync($"/v2/{gun}/_trust/tuf/timestamp.json")).StatusCode == HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ETag_IsTheSha256_AndIfNoneMatchGets304()
    {
        var gun = $"example.com/replicas/etag-{Guid.NewGuid():N}"[..48];
        using var client = new NotaryCli(First.Url);
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var response = await First.Http.GetAsync($"/v2/{gun}/_trust/tuf/timestamp.json");
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var etag = $"\"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))}\"";
        Assert.Equal(etag, response.Headers.ETag?.ToString());

        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/v2/{gun}/_trust/tuf/timestamp.json");
        conditional.Headers.TryAddWithoutValidation("If-None-Match", etag);
        var notModified = await First.Http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        Assert.Equal(etag, notModified.Headers.ETag?.ToString());

        using var stale = new HttpRequestMessage(HttpMethod.Get, $"/v2/{gun}/_trust/tuf/1.root.json");
        stale.Headers.TryAddWithoutValidation("If-None-Match", etag);
        Assert.Equal(HttpStatusCode.OK, (await First.Http.SendAsync(stale)).StatusCode);
    }

    // Stated bound for cross-replica coherence of the read cache: notifications arrive in milliseconds; without
    // them the changefeed is read every 2 s by default (Caching:Memory:ChangefeedPollSeconds).
    private static readonly TimeSpan CoherenceBound = TimeSpan.FromSeconds(3);

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + CoherenceBound;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not reached within {CoherenceBound}");
            await Task.Delay(20);
        }
    }

    private static async Task<(long Version, DateTimeOffset Expires)> TimestampAsync(TrustServerInstance server, string gun)
    {
        var signed = JsonDocument.Parse(await server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.json")).RootElement.GetProperty("signed");
        return (signed.GetProperty("version").GetInt64(), DateTimeOffset.Parse(signed.GetProperty("expires").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task<long> TargetsVersionAsync(TrustServerInstance server, string gun) =>
        JsonDocument.Parse(await server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/targets.json")).RootElement.GetProperty("signed").GetProperty("version").GetInt64();

    private static async Task<int> ChangeCountAsync(TrustServerInstance server, string gun) =>
        JsonDocument.Parse(await server.Http.GetStringAsync($"/v2/{gun}/_trust/changefeed?records=1000")).RootElement.GetProperty("count").GetInt32();

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}
