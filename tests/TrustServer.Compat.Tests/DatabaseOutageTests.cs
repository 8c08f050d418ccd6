using System.Net;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// When the database goes away mid-life, every request still gets a prompt answer (never a hang or a bare 500): what
/// the replica read before is served stale-if-error (a dropped database is an outage like a stopped server: the
/// replica cannot tell them apart), everything else gets Notary's error.
/// </summary>
public sealed class DatabaseOutageTests : IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresDatabaseFixture _database;

    public DatabaseOutageTests(PostgresDatabaseFixture database) => _database = database;

    [Fact]
    public async Task DatabaseDropped_UncachedReadsAndUpdatesFailWithNotaryErrors_CachedReadsServed_HealthSays503()
    {
        // Changes reach the cache only by notification here: a changefeed poll between the read below and the drop would
        // drop the GUN's entries again.
        await using var server = await TrustServerInstance.StartAsync(
            new ServerStorage.Postgres(_database.ConnectionString), [new("Caching:Memory:ChangefeedPollSeconds", "3600")]);
        var gun = "example.com/outage/repo";
        using var client = server.NewClient();
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        // Read after the publish's own notification has dropped the GUN (a read that races with that invalidation is
        // kept out of the cache): the read leaves the chain in the cache.
        await ChangeNotifications.SettleAsync(_database.ConnectionString);
        var targets = await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.json");

        var databaseErrors = await DatabaseErrorsAsync(server);
        await _database.DisposeAsync(); // drops the database under the running server

        await AssertCode(await server.Http.GetAsync($"/v2/{gun}/_trust/tuf/root.json"), HttpStatusCode.InternalServerError, "UNKNOWN");
        Assert.Equal(targets, await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.json"));
        await AssertCode(await server.Http.GetAsync("/v2/example.com/outage/never-read/_trust/tuf/timestamp.json"), HttpStatusCode.InternalServerError, "UNKNOWN");
        await AssertCode(await server.Http.GetAsync($"/v2/{gun}/_trust/changefeed?records=10"), HttpStatusCode.InternalServerError, "UNKNOWN");
        Assert.True(await DatabaseErrorsAsync(server) > databaseErrors, "the failed requests count as database errors");
        using var upload = new MultipartFormDataContent("outage") { { new ByteArrayContent(targets), "files", "targets" } };
        await AssertCode(await server.Http.PostAsync($"/v2/{gun}/_trust/tuf/", upload), HttpStatusCode.InternalServerError, "UPDATING");

        var health = await server.Http.GetAsync("/_notary_server/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.True(JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.TryGetProperty("DB operational", out _));
    }

    // The counter is process-wide (other tests may add to it), so callers compare before and after.
    private static async Task<double> DatabaseErrorsAsync(TrustServerInstance server)
    {
        const string Series = "trustserver_database_errors_total ";
        var line = (await server.Http.GetStringAsync("/metrics")).Split('\n').SingleOrDefault(l => l.StartsWith(Series, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[Series.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task AssertCode(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status} {code}, got {response.StatusCode}: {body}");
        Assert.Equal(code, JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }
}
