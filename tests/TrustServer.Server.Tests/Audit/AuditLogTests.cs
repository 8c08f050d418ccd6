using System.Data.Common;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TrustServer.Compat.Tests.Auth;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Audit;

/// <summary>
/// A server with token auth (the built-in issuer's users of <see cref="BuiltInIssuerServerFixture"/>) on one database,
/// with its log captured and raw SQL access to the database for fault injection.
/// </summary>
public abstract class AuditServerFixture : IAsyncLifetime
{
    private TrustServerInstance? _server;

    /// <summary>Every log line of the server.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>The running server.</summary>
    public TrustServerInstance Instance => _server ?? throw new InvalidOperationException("not started");

    /// <summary>Scratch space of the fixture (issuer certificates, SQLite file).</summary>
    protected TemporaryDirectory Directory { get; } = new("trustserver-audit");

    /// <summary>Which database.</summary>
    protected abstract Task<ServerStorage> CreateStorageAsync();

    /// <summary>A raw connection to the server's database, opened.</summary>
    public abstract Task<DbConnection> OpenConnectionAsync();

    /// <summary>Whether the database is PostgreSQL (else SQLite).</summary>
    public abstract bool Postgres { get; }

    public virtual async Task InitializeAsync() =>
        _server = await TrustServerInstance.StartAsync(
            await CreateStorageAsync(), BuiltInIssuerServerFixture.CreateSettings(Directory), services => services.AddSingleton<ILoggerProvider>(Logs));

    public virtual async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        Directory.Dispose();
    }

    /// <summary>Runs <paramref name="sql"/> on the server's database.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// The audit log end to end: the real notary client under token auth, the admin API, the structured log, and a
/// database failure inside the commit. Subclasses choose the database.
/// </summary>
public abstract class AuditLogTests(AuditServerFixture fixture) : IDisposable
{
    private readonly TemporaryDirectory _files = new("notary-payload");

    private TrustServerInstance Server => fixture.Instance;

    [Fact]
    public async Task NotaryClientPublish_UnderTokenAuth_RecordsSubjectAddressRequestIdAndLogsIt()
    {
        var gun = NewGun("publish");
        using var alice = Client("alice");
        await alice.RunCheckedAsync(["init", gun, "--publish"]);

        var entries = await AuditAsync($"gun={Uri.EscapeDataString(gun)}");
        var publish = Assert.Single(entries, e => e.Action == AuditActions.Publish);
        Assert.Equal(AuditOutcomes.Succeeded, publish.Outcome);
        Assert.Equal("alice", publish.Principal);
        Assert.Equal("127.0.0.1", publish.RemoteAddress);
        Assert.False(string.IsNullOrEmpty(publish.RequestId));
        var stored = await Server.Services.GetRequiredService<IMetadataStore>().GetHighestVersionsAsync(gun);
        Assert.Equal(
            stored.Select(f => $"{f.Key}@{f.Value}").Order(StringComparer.Ordinal),
            publish.Files.Split(',').Order(StringComparer.Ordinal));

        // notary init asked for the timestamp key first: the signer created it.
        var key = Assert.Single(entries, e => e.Action == AuditActions.KeyCreate);
        Assert.Equal(("alice", "timestamp", AuditOutcomes.Succeeded), (key.Principal, key.Files, key.Outcome));
        Assert.StartsWith("key ", key.Detail, StringComparison.Ordinal);
        Assert.True(key.Id < publish.Id);

        // The same event in the structured log, with the request id, and never a token.
        var line = Assert.Single(fixture.Logs.Lines, l => l.Contains($"Audit: \"publish\" of \"{gun}\" \"succeeded\"", StringComparison.Ordinal));
        Assert.Contains("by \"alice\" from \"127.0.0.1\"", line, StringComparison.Ordinal);
        Assert.Contains(publish.RequestId!, line, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Logs.Lines, l => l.Contains("eyJ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RejectedPublish_RecordsTheRejectionAndNoSuccess()
    {
        var gun = NewGun("rejected");
        using var alice = Client("alice");
        await alice.RunCheckedAsync(["init", gun, "--publish"]);

        // Targets with a version the signature does not cover: validation refuses it.
        var stored = (await Server.Services.GetRequiredService<IMetadataStore>().GetLatestAsync(gun, "targets"))!;
        var next = stored.Version + 1;
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(stored.Data)
            .Replace($"\"version\":{stored.Version}", $"\"version\":{next}", StringComparison.Ordinal));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/{gun}/_trust/tuf/") { Content = NotaryHttp.Upload(("targets", tampered)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync("alice", $"repository:{gun}:push,pull"));
        var response = await Server.Http.SendAsync(request);
        await NotaryHttp.AssertNotaryErrorAsync(response, HttpStatusCode.BadRequest, "INVALID_UPDATE");

        var publishes = (await AuditAsync($"gun={Uri.EscapeDataString(gun)}&action=publish")).ToList();
        Assert.Equal(2, publishes.Count);
        var rejected = publishes[0];
        Assert.Equal((AuditOutcomes.Rejected, "alice", $"targets@{next}"), (rejected.Outcome, rejected.Principal, rejected.Files));
        Assert.False(string.IsNullOrEmpty(rejected.Detail));
        Assert.Equal(AuditOutcomes.Succeeded, publishes[1].Outcome);
        Assert.Contains($"targets@{stored.Version}", publishes[1].Files, StringComparison.Ordinal);
        Assert.Equal(stored.Version, (await Server.Services.GetRequiredService<IMetadataStore>().GetHighestVersionsAsync(gun))["targets"]);
    }

    [Fact]
    public async Task DeleteAndKeyRotation_ByTheNotaryClient_AreRecorded()
    {
        var gun = NewGun("delete");
        using var carol = Client("carol");
        await carol.RunCheckedAsync(["init", gun, "--publish"]);
        await carol.RunCheckedAsync(["key", "rotate", gun, "snapshot", "-r"]);
        await carol.RunCheckedAsync(["delete", gun, "--remote"]);

        var entries = await AuditAsync($"gun={Uri.EscapeDataString(gun)}");
        var rotate = Assert.Single(entries, e => e.Action == AuditActions.KeyRotate);
        Assert.Equal(("carol", "snapshot", AuditOutcomes.Succeeded), (rotate.Principal, rotate.Files, rotate.Outcome));
        Assert.StartsWith("key ", rotate.Detail, StringComparison.Ordinal);

        // Rotating to a server-managed snapshot key publishes a new root, then the delete removes everything.
        var delete = entries[0];
        Assert.Equal((AuditActions.Delete, AuditOutcomes.Succeeded, "carol", "127.0.0.1"), (delete.Action, delete.Outcome, delete.Principal, delete.RemoteAddress));
        Assert.True(entries.Count(e => e is { Action: AuditActions.Publish, Outcome: AuditOutcomes.Succeeded }) >= 2);
    }

    [Fact]
    public async Task DatabaseFailureDuringCommit_LeavesNeitherTheChangeNorASuccessEntry()
    {
        var gun = NewGun("dbfault");
        using var alice = Client("alice");
        await alice.RunCheckedAsync(["init", gun, "--publish"]);
        var store = Server.Services.GetRequiredService<IMetadataStore>();
        var before = await store.GetHighestVersionsAsync(gun);

        var trigger = "fail_" + Guid.NewGuid().ToString("N");
        await fixture.ExecuteAsync(InjectedFailures.FailInsertsSql(fixture.Postgres, trigger, "changefeed", gun));
        try
        {
            var failed = await alice.RunAsync(["add", gun, "v1", Payload("v1"), "-p"]);
            Assert.False(failed.Succeeded, failed.ToString());
        }
        finally
        {
            await fixture.ExecuteAsync(InjectedFailures.RemoveSql(fixture.Postgres, trigger, "changefeed"));
        }

        Assert.Equal(before, await store.GetHighestVersionsAsync(gun));
        var publishes = await AuditAsync($"gun={Uri.EscapeDataString(gun)}&action=publish");
        Assert.Equal([AuditOutcomes.Failed, AuditOutcomes.Succeeded], publishes.Select(e => e.Outcome));
        Assert.Equal("alice", publishes[0].Principal);
        Assert.Contains($"targets@{before["targets"] + 1}", publishes[0].Files, StringComparison.Ordinal);

        // Nothing was left half written: the same change goes through now.
        await alice.RunCheckedAsync(["publish", gun]);
        Assert.Equal(before["targets"] + 1, (await store.GetHighestVersionsAsync(gun))["targets"]);
        Assert.Equal(AuditOutcomes.Succeeded, (await AuditAsync($"gun={Uri.EscapeDataString(gun)}&action=publish"))[0].Outcome);
    }

    [Fact]
    public async Task AdminAudit_FiltersByGunPrincipalAndTime_Pages_AndAnswersProblemDetails()
    {
        var first = NewGun("filter-a");
        var second = NewGun("filter-b");
        var start = DateTimeOffset.UtcNow.AddSeconds(-1);
        using (var alice = Client("alice"))
        {
            await alice.RunCheckedAsync(["init", first, "--publish"]);
        }

        using (var carol = Client("carol"))
        {
            await carol.RunCheckedAsync(["init", second, "--publish"]);
            await carol.RunCheckedAsync(["add", second, "v1", Payload("v1"), "-p"]);
        }

        var carolsOnSecond = await AuditAsync($"gun={Uri.EscapeDataString(second)}&principal=carol&action=publish");
        Assert.Equal(2, carolsOnSecond.Count);
        Assert.True(carolsOnSecond[0].Id > carolsOnSecond[1].Id);
        Assert.Empty(await AuditAsync($"gun={Uri.EscapeDataString(first)}&principal=carol"));

        // Paging: newest first, one per page, the total on every page.
        var page2 = await AdminAsync($"/api/admin/v1/audit?gun={Uri.EscapeDataString(second)}&action=publish&page=2&pageSize=1");
        Assert.Equal(2, page2["total"]!.GetValue<long>());
        Assert.Equal(carolsOnSecond[1].Id, page2["items"]![0]!["id"]!.GetValue<long>());

        // Time range [from, to).
        var from = Uri.EscapeDataString(start.ToString("O"));
        Assert.Equal(2, (await AuditAsync($"gun={Uri.EscapeDataString(second)}&action=publish&from={from}")).Count);
        var later = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(1).ToString("O"));
        Assert.Empty(await AuditAsync($"gun={Uri.EscapeDataString(second)}&from={later}"));
        Assert.Empty(await AuditAsync($"gun={Uri.EscapeDataString(second)}&to={from}"));

        foreach (var bad in new[] { "from=yesterday", "to=2026-12-01T00:00:00", $"from={later}&to={from}", "pageSize=0", "page=0" })
        {
            using var response = await AdminResponseAsync("/api/admin/v1/audit?" + bad, await AdminTokenAsync());
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        // The admin API's access rule: the catalog scope.
        using (var anonymous = await AdminResponseAsync("/api/admin/v1/audit", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using var pusher = await AdminResponseAsync("/api/admin/v1/audit", await TokenAsync("carol", "registry:catalog:*"));
        Assert.Equal(HttpStatusCode.Forbidden, pusher.StatusCode);
    }

    public void Dispose() => _files.Dispose();

    private sealed record Entry(long Id, string Action, string Outcome, string Principal, string? RemoteAddress, string Files, string? RequestId, string? Detail);

    private async Task<List<Entry>> AuditAsync(string query)
    {
        var page = await AdminAsync("/api/admin/v1/audit?pageSize=500&" + query);
        return [.. page["items"]!.AsArray().Select(i => new Entry(
            i!["id"]!.GetValue<long>(),
            i["action"]!.GetValue<string>(),
            i["outcome"]!.GetValue<string>(),
            i["principal"]!.GetValue<string>(),
            i["remoteAddress"]?.GetValue<string>(),
            i["files"]!.GetValue<string>(),
            i["requestId"]?.GetValue<string>(),
            i["detail"]?.GetValue<string>()))];
    }

    private async Task<JsonNode> AdminAsync(string path)
    {
        using var response = await AdminResponseAsync(path, await AdminTokenAsync());
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private async Task<HttpResponseMessage> AdminResponseAsync(string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Server.Http.SendAsync(request);
    }

    private Task<string> AdminTokenAsync() => TokenAsync("admin", "registry:catalog:*");

    private async Task<string> TokenAsync(string user, string scope)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/auth/token?service={BuiltInIssuerServerFixture.Service}&scope={Uri.EscapeDataString(scope)}");
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{BuiltInIssuerServerFixture.Password}")));
        using var response = await Server.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
    }

    private NotaryCli Client(string user)
    {
        var client = Server.NewClient();
        client.SetBasicAuth(user, BuiltInIssuerServerFixture.Password);
        return client;
    }

    private static string NewGun(string name) => $"example.com/team/audit-{name}-{Guid.NewGuid():N}";

    private string Payload(string content)
    {
        var path = _files.Combine(content + "-" + Guid.NewGuid().ToString("N"));
        System.IO.File.WriteAllText(path, content + "\n");
        return path;
    }
}
