using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;
using Xunit.Abstractions;

namespace TrustServer.Compat.Tests;

/// <summary>
/// Faults caused on a real PostgreSQL under two replicas (README "Read path, caching and memory"): a restart, a
/// replica cut off from the database while another one publishes (its notification is lost), the database stopped.
/// Replica B reads the changefeed only hourly, so only the reconnect protocol can meet the coherence bound.
/// </summary>
public sealed class DatabaseFaultTests(PrivatePostgres postgres, ITestOutputHelper output) : IClassFixture<PrivatePostgres>, IAsyncLifetime
{
    // README: a replica serves another replica's change at most this long after the database is reachable again
    // (and after the change was committed).
    private static readonly TimeSpan CoherenceBound = TimeSpan.FromSeconds(1);

    private readonly TemporaryDirectory _directory = new("trustserver-faults");
    private readonly List<IAsyncDisposable> _disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task PostgresRestart_PublishOnARightAfter_BServesTheNewBytesWithinTheBound()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var (a, b) = await StartReplicasAsync(connectionString);
        var gun = NewGun("restart");
        using var client = new NotaryCli(a.Url);
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var before = await WarmAsync(b, gun, connectionString);

        await postgres.Cluster.RestartServerAsync();

        // B reads in the gap, before its follower is back: what it reads must not outlive the reconnect.
        await ReadUntilOkAsync(b, $"/v2/{gun}/_trust/tuf/timestamp.json");
        await PublishTargetAsync(client, gun, "after-restart");
        var published = await a.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/timestamp.json");
        Assert.NotEqual(before.Timestamp, published);

        var elapsed = await TimeUntilServedAsync(b, $"/v2/{gun}/_trust/tuf/timestamp.json", published);
        Assert.True(elapsed <= CoherenceBound, $"B served the new timestamp {elapsed.TotalMilliseconds:F0} ms after the publish");
        Assert.Equal(await a.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.json"), await b.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.json"));
    }

    [Fact]
    public async Task BCutOffWhileAPublishes_NotificationLost_BServesStaleThenTheNewBytesWithinTheBound()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var role = $"replica_{Guid.NewGuid():N}"[..20];
        var password = Guid.NewGuid().ToString("N");
        await postgres.ExecuteAsync($"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'");
        var (a, b) = await StartReplicasAsync(connectionString, new NpgsqlConnectionStringBuilder(connectionString) { Username = role, Password = password }.ConnectionString);
        var gun = NewGun("cutoff");
        using var client = new NotaryCli(a.Url);
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var before = await WarmAsync(b, gun, connectionString);

        // B loses every session (its LISTEN too) and cannot open new ones; A publishes meanwhile.
        await postgres.ExecuteAsync($"ALTER ROLE {role} NOLOGIN");
        await postgres.ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
        await PublishTargetAsync(client, gun, "while-cut-off");
        var published = await a.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/timestamp.json");
        Assert.NotEqual(before.Timestamp, published);
        await AssertServesAsync(b, gun, before); // stale-if-error: what B held, byte for byte

        await postgres.ExecuteAsync($"ALTER ROLE {role} LOGIN");
        var elapsed = await TimeUntilServedAsync(b, $"/v2/{gun}/_trust/tuf/timestamp.json", published);
        Assert.True(elapsed <= CoherenceBound, $"B served the new timestamp {elapsed.TotalMilliseconds:F0} ms after it could reach the database again");
    }

    [Fact]
    public async Task DatabaseStopped_CachedReadsServedUntilTheWindowEnds_UncachedAndWritesFail_FreshAfterwards()
    {
        var clock = new ManualClock();
        var connectionString = await postgres.CreateDatabaseAsync();
        var (a, b) = await StartReplicasAsync(connectionString, clock: clock);
        var gun = NewGun("stopped");
        var unread = NewGun("unread");
        using var client = new NotaryCli(a.Url);
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        await PublishTargetAsync(client, gun, "before-outage");
        await client.RunCheckedAsync(["init", unread, "--publish"]);
        var before = await WarmAsync(b, gun, connectionString);

        await postgres.Cluster.StopServerAsync();
        try
        {
            // Every read that B made before keeps its bytes; the window runs from B's last database read.
            for (var round = 0; round < 3; round++)
            {
                await AssertServesAsync(b, gun, before);
            }

            await AssertNotaryErrorAsync(await b.Http.GetAsync($"/v2/{unread}/_trust/tuf/timestamp.json"), HttpStatusCode.InternalServerError, "UNKNOWN");
            await AssertNotaryErrorAsync(await b.Http.GetAsync($"/v2/{gun}/_trust/tuf/2.root.json"), HttpStatusCode.InternalServerError, "UNKNOWN");
            using (var upload = new MultipartFormDataContent("outage") { { new ByteArrayContent(before.Targets), "files", "targets" } })
            {
                await AssertNotaryErrorAsync(await b.Http.PostAsync($"/v2/{gun}/_trust/tuf/", upload), HttpStatusCode.InternalServerError, "UPDATING");
            }

            await AssertNotaryErrorAsync(await b.Http.DeleteAsync($"/v2/{gun}/_trust/tuf/"), HttpStatusCode.InternalServerError, "UNKNOWN");
            await AssertNotaryErrorAsync(await b.Http.GetAsync($"/v2/{gun}/_trust/tuf/timestamp.key"), HttpStatusCode.InternalServerError, "UNKNOWN");

            var ready = await b.Http.GetAsync("/healthz/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var readiness = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("degraded", readiness.GetProperty("reads").GetString());
            Assert.Equal("not ready", readiness.GetProperty("writes").GetString());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await b.Http.GetAsync("/_notary_server/health")).StatusCode);

            // Past Caching:Memory:StaleIfErrorSeconds (300 by default), Notary's error again.
            clock.Advance(TimeSpan.FromSeconds(301));
            await AssertNotaryErrorAsync(await b.Http.GetAsync($"/v2/{gun}/_trust/tuf/timestamp.json"), HttpStatusCode.InternalServerError, "UNKNOWN");
            await AssertNotaryErrorAsync(await b.Http.GetAsync($"/v2/{gun}/_trust/tuf/1.root.json"), HttpStatusCode.InternalServerError, "UNKNOWN");
        }
        finally
        {
            await postgres.Cluster.StartServerAsync();
        }

        // Nothing of the failed writes was stored, and a change published now reaches B within the bound.
        await ReadUntilOkAsync(b, $"/v2/{gun}/_trust/tuf/timestamp.json");
        Assert.Equal(before.Targets, await b.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.json"));
        await PublishTargetAsync(client, gun, "after-outage");
        var published = await a.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/timestamp.json");
        var elapsed = await TimeUntilServedAsync(b, $"/v2/{gun}/_trust/tuf/timestamp.json", published);
        Assert.True(elapsed <= CoherenceBound, $"B served the new timestamp {elapsed.TotalMilliseconds:F0} ms after the publish");
    }

    [Fact]
    public async Task DatabaseStopped_StaleIfErrorNeverServesPastTheMetadatasExpiry()
    {
        var clock = new ManualClock();
        var connectionString = await postgres.CreateDatabaseAsync();
        var (a, b) = await StartReplicasAsync(connectionString, clock: clock, staleIfErrorSeconds: 31536000);
        var gun = NewGun("expiry");
        using var client = new NotaryCli(a.Url);
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var before = await WarmAsync(b, gun, connectionString);

        await postgres.Cluster.StopServerAsync();
        try
        {
            await AssertServesAsync(b, gun, before);

            // The timestamp expires after 14 days (and the current files are found through it); the root after 10 years.
            clock.Advance(TimeSpan.FromDays(15));
            await AssertNotaryErrorAsync(await b.Http.GetAsync($"/v2/{gun}/_trust/tuf/timestamp.json"), HttpStatusCode.InternalServerError, "UNKNOWN");
            await AssertNotaryErrorAsync(await b.Http.GetAsync($"/v2/{gun}/_trust/tuf/targets.json"), HttpStatusCode.InternalServerError, "UNKNOWN");
            Assert.Equal(before.Root, await b.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/1.root.json"));
        }
        finally
        {
            await postgres.Cluster.StartServerAsync();
        }
    }

    private sealed record Served(byte[] Timestamp, byte[] Snapshot, byte[] Targets, byte[] Root);

    // A replica A (default settings) and a replica B that reads the changefeed only hourly, on one database.
    private async Task<(TrustServerInstance A, TrustServerInstance B)> StartReplicasAsync(
        string connectionString, string? connectionStringOfB = null, ManualClock? clock = null, int? staleIfErrorSeconds = null)
    {
        var passphrase = _directory.Combine($"passphrase-{Guid.NewGuid():N}");
        var a = await TrustServerInstance.StartAsync(new ServerStorage.Postgres(connectionString), passphraseFile: passphrase);
        _disposables.Add(a);
        List<KeyValuePair<string, string?>> settings = [new("Caching:Memory:ChangefeedPollSeconds", "3600")];
        if (staleIfErrorSeconds is { } seconds)
        {
            settings.Add(new("Caching:Memory:StaleIfErrorSeconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var b = await TrustServerInstance.StartAsync(
            new ServerStorage.Postgres(connectionStringOfB ?? connectionString),
            settings,
            clock is null ? null : s => s.AddSingleton<TimeProvider>(clock),
            passphrase);
        _disposables.Add(b);
        return (a, b);
    }

    // Reads what a client reads and returns the bytes, after the last publish's own notification has reached B and
    // dropped the GUN (a read racing with that invalidation is kept out of the cache), so it leaves every file in B's
    // cache (B reads the changefeed only hourly: nothing else drops them).
    private static async Task<Served> WarmAsync(TrustServerInstance server, string gun, string connectionString)
    {
        await ChangeNotifications.SettleAsync(connectionString);
        var served = new Served(
            await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/timestamp.json"),
            await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/snapshot.json"),
            await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.json"),
            await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/1.root.json"));
        Assert.Equal(served.Root, await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/root.json"));
        return served;
    }

    private static async Task AssertServesAsync(TrustServerInstance server, string gun, Served expected)
    {
        await AssertBytesAsync(server, $"/v2/{gun}/_trust/tuf/timestamp.json", expected.Timestamp);
        await AssertBytesAsync(server, $"/v2/{gun}/_trust/tuf/snapshot.json", expected.Snapshot);
        await AssertBytesAsync(server, $"/v2/{gun}/_trust/tuf/targets.json", expected.Targets);
        await AssertBytesAsync(server, $"/v2/{gun}/_trust/tuf/root.json", expected.Root);
        await AssertBytesAsync(server, $"/v2/{gun}/_trust/tuf/1.root.json", expected.Root);
    }

    private static async Task AssertBytesAsync(TrustServerInstance server, string path, byte[] expected)
    {
        var response = await server.Http.GetAsync(path);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
        Assert.Equal(expected, body);
    }

    private static async Task AssertNotaryErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.RequestMessage?.RequestUri}: expected {status} {code}, got {response.StatusCode}: {body}");
        Assert.Equal(code, JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    private async Task PublishTargetAsync(NotaryCli client, string gun, string name)
    {
        var payload = _directory.Combine($"{name}-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(payload, name + "\n");
        await client.RunCheckedAsync(["add", gun, name, payload, "-p"]);
    }

    // Right after a restart a request may meet a session the restart ended; a client retries.
    private static async Task ReadUntilOkAsync(TrustServerInstance server, string path)
    {
        for (var attempt = 0; (await server.Http.GetAsync(path)).StatusCode != HttpStatusCode.OK; attempt++)
        {
            Assert.True(attempt < 50, $"{path} did not answer 200 after the database came back");
            await Task.Delay(100);
        }
    }

    private async Task<TimeSpan> TimeUntilServedAsync(TrustServerInstance server, string path, byte[] expected)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var response = await server.Http.GetAsync(path);
            if (response.StatusCode == HttpStatusCode.OK && (await response.Content.ReadAsByteArrayAsync()).AsSpan().SequenceEqual(expected))
            {
                output.WriteLine($"{path}: new bytes served after {watch.Elapsed.TotalMilliseconds:F0} ms");
                return watch.Elapsed;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(40), $"{path}: the new bytes were not served within 40 s");
            await Task.Delay(20);
        }
    }

    private static string NewGun(string name) => $"example.com/faults/{name}-{Guid.NewGuid():N}"[..48];
}
