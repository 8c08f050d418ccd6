using System.Net;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>The admin API on a real PostgreSQL database, over repositories made by the real notary client.</summary>
public sealed class AdminApiTests(PostgresServerFixture fixture) : IClassFixture<PostgresServerFixture>, IAsyncLifetime
{
    private const string ClientSnapshotGun = "example.com/admin/client-snapshot";
    private const string ServerSnapshotGun = "example.com/admin/server-snapshot";
    private static readonly SemaphoreSlim SetupLock = new(1, 1);
    private readonly TrustServerInstance _server = fixture.Instance;

    public async Task InitializeAsync()
    {
        await SetupLock.WaitAsync();
        try
        {
            if ((await _server.Http.GetAsync($"/v2/{ServerSnapshotGun}/_trust/tuf/root.json")).StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            using var client = _server.NewClient();
            await client.RunCheckedAsync(["init", ClientSnapshotGun, "--publish"]);
            await client.RunCheckedAsync(["key", "rotate", ClientSnapshotGun, "root"], stdin: "yes\n");
            await client.RunCheckedAsync(["init", ServerSnapshotGun]);
            await client.RunCheckedAsync(["key", "rotate", ServerSnapshotGun, "snapshot", "-r"]);
            await client.RunCheckedAsync(["publish", ServerSnapshotGun]);
        }
        finally
        {
            SetupLock.Release();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task ListRepositories_NewestFirst_PrefixAndPaging()
    {
        var all = await GetJsonAsync("/api/admin/v1/repositories?prefix=example.com/admin/");
        Assert.Equal(2, all.GetProperty("total").GetInt64());
        Assert.Equal([ServerSnapshotGun, ClientSnapshotGun], all.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("gun").GetString()));
        Assert.True(all.GetProperty("items")[0].GetProperty("fileCount").GetInt64() >= 4);

        var second = await GetJsonAsync("/api/admin/v1/repositories?prefix=example.com/admin/&page=2&pageSize=1");
        Assert.Equal(ClientSnapshotGun, Assert.Single(second.GetProperty("items").EnumerateArray()).GetProperty("gun").GetString());
        Assert.Equal(0, (await GetJsonAsync("/api/admin/v1/repositories?prefix=nothing/")).GetProperty("total").GetInt64());
        await AssertProblemAsync("/api/admin/v1/repositories?pageSize=0", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task GetRepository_RolesVersionsKeysAndSnapshotManagement()
    {
        var client = await GetJsonAsync($"/api/admin/v1/repository?gun={ClientSnapshotGun}");
        var roles = client.GetProperty("roles").EnumerateArray().ToDictionary(r => r.GetProperty("role").GetString()!);
        Assert.Equal(["root", "targets", "snapshot", "timestamp"], client.GetProperty("roles").EnumerateArray().Select(r => r.GetProperty("role").GetString()));
        Assert.Equal(2, roles["root"].GetProperty("version").GetInt64());
        var rootKeyRoles = roles["root"].GetProperty("keys").EnumerateArray().SelectMany(k => k.GetProperty("roles").EnumerateArray().Select(r => r.GetString())).ToHashSet();
        Assert.Superset(new HashSet<string?> { "root", "targets", "snapshot", "timestamp" }, rootKeyRoles);
        Assert.Contains(roles["root"].GetProperty("keys").EnumerateArray(), k => k.GetProperty("type").GetString() == "ecdsa-x509");
        Assert.True(roles["timestamp"].GetProperty("expires").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(13));
        Assert.Matches("^[0-9a-f]{64}$", roles["targets"].GetProperty("sha256").GetString());
        Assert.False(client.GetProperty("serverManagedSnapshot").GetBoolean());

        var server = await GetJsonAsync($"/api/admin/v1/repository?gun={ServerSnapshotGun}");
        Assert.True(server.GetProperty("serverManagedSnapshot").GetBoolean());

        await AssertProblemAsync("/api/admin/v1/repository?gun=example.com/admin/none", HttpStatusCode.NotFound);
        await AssertProblemAsync("/api/admin/v1/repository", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task GetRoleHistory_NewestFirst()
    {
        var history = await GetJsonAsync($"/api/admin/v1/repository/history?gun={ClientSnapshotGun}&role=root");
        Assert.Equal(2, history.GetProperty("total").GetInt64());
        Assert.Equal([2L, 1L], history.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("version").GetInt64()));
        var root1 = await _server.Http.GetByteArrayAsync($"/v2/{ClientSnapshotGun}/_trust/tuf/1.root.json");
        Assert.Equal(root1.Length, history.GetProperty("items")[1].GetProperty("length").GetInt64());

        await AssertProblemAsync($"/api/admin/v1/repository/history?gun={ClientSnapshotGun}&role=nope", HttpStatusCode.BadRequest);
        await AssertProblemAsync($"/api/admin/v1/repository/history?gun={ClientSnapshotGun}&role=targets/none", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Expiring_ListsTheTimestampsWithinTheHorizonOnly()
    {
        var soon = await GetJsonAsync("/api/admin/v1/expiring?days=30&prefix=example.com/admin/");
        var items = soon.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        Assert.All(items, i => Assert.Equal("timestamp", i.GetProperty("role").GetString()));
        Assert.All(items, i => Assert.False(i.GetProperty("expired").GetBoolean()));

        Assert.Equal(0, (await GetJsonAsync("/api/admin/v1/expiring?days=0&prefix=example.com/admin/")).GetProperty("total").GetInt64());
        Assert.Equal(8, (await GetJsonAsync("/api/admin/v1/expiring?days=36500&prefix=example.com/admin/")).GetProperty("total").GetInt64());
        await AssertProblemAsync("/api/admin/v1/expiring?days=-1", HttpStatusCode.BadRequest);
    }

    // A repository made by the real client with a delegation: the report says the server renews the timestamp and
    // the owner everything else, with the keys and threshold the root (or the parent) declares; each owner command,
    // run with the real client, renews its role.
    [Fact]
    public async Task Expiring_SeparatesServerAndOwnerRoles_WithKeysThresholdAndAWorkingCommand()
    {
        const string Gun = "example.com/admin-renewal/app";
        using var files = new TemporaryDirectory("admin-renewal");
        using var client = _server.NewClient();
        using var releasesCert = TestCertificates.Create(new TestCertificateOptions { CommonName = "targets/releases" });
        var (releasesCrt, releasesKey) = releasesCert.WriteFiles(files.Path, "releases");
        var payload = files.Combine("release.txt");
        await File.WriteAllTextAsync(payload, "release bits\n");
        await client.RunCheckedAsync(["init", Gun, "--publish"]);
        await client.RunCheckedAsync(["key", "import", releasesKey, "--role", "targets/releases"]);
        await client.RunCheckedAsync(["delegation", "add", Gun, "targets/releases", releasesCrt, "--all-paths", "-p"]);
        await client.RunCheckedAsync(["add", Gun, "releases/v1", payload, "--roles", "targets/releases", "-p"]);

        var report = await ExpiringAsync(Gun, null);
        Assert.Equal(["root", "snapshot", "targets", "targets/releases", "timestamp"], report.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("server", report["timestamp"].GetProperty("renewedBy").GetString());
        Assert.Equal(JsonValueKind.Null, report["timestamp"].GetProperty("command").ValueKind);
        foreach (var role in new[] { "root", "targets", "targets/releases", "snapshot" })
        {
            Assert.Equal("owner", report[role].GetProperty("renewedBy").GetString());
        }

        // Keys and threshold as the root and the parent targets declare them.
        var root = JsonDocument.Parse(await _server.Http.GetStringAsync($"/v2/{Gun}/_trust/tuf/root.json")).RootElement.GetProperty("signed").GetProperty("roles");
        foreach (var role in new[] { "root", "targets", "snapshot", "timestamp" })
        {
            Assert.Equal(KeyIds(root.GetProperty(role)), KeyIds(report[role]));
            Assert.Equal(root.GetProperty(role).GetProperty("threshold").GetInt64(), report[role].GetProperty("threshold").GetInt64());
        }

        var delegation = JsonDocument.Parse(await _server.Http.GetStringAsync($"/v2/{Gun}/_trust/tuf/targets.json")).RootElement
            .GetProperty("signed").GetProperty("delegations").GetProperty("roles")[0];
        Assert.Single(KeyIds(delegation));
        Assert.Equal(KeyIds(delegation), KeyIds(report["targets/releases"]));
        Assert.Equal(1, report["targets/releases"].GetProperty("threshold").GetInt64());

        // Only server or only owner roles.
        Assert.Equal(["timestamp"], (await ExpiringAsync(Gun, "server")).Keys);
        Assert.Equal(4, (await ExpiringAsync(Gun, "owner")).Count);
        await AssertProblemAsync("/api/admin/v1/expiring?renewedBy=nobody", HttpStatusCode.BadRequest);

        // Each owner command renews its role: a new version with a later expiry (root: rotated to a new key).
        foreach (var (role, stdin) in new[] { ("targets/releases", (string?)null), ("snapshot", null), ("root", "yes\n") })
        {
            var before = report[role];
            var command = before.GetProperty("command").GetString()!.Split(' ');
            Assert.Equal("notary", command[0]);
            await client.RunCheckedAsync(command[1..], stdin: stdin);
            report = await ExpiringAsync(Gun, null);
            Assert.True(report[role].GetProperty("version").GetInt64() > before.GetProperty("version").GetInt64(), $"{role}: {string.Join(' ', command)} made no new version");
            Assert.True(report[role].GetProperty("expires").GetDateTimeOffset() > before.GetProperty("expires").GetDateTimeOffset(), $"{role}: {string.Join(' ', command)} did not move the expiry");
        }
    }

    private async Task<Dictionary<string, JsonElement>> ExpiringAsync(string gun, string? renewedBy) =>
        (await GetJsonAsync($"/api/admin/v1/expiring?days=36500&prefix={gun}" + (renewedBy is null ? string.Empty : "&renewedBy=" + renewedBy)))
            .GetProperty("items").EnumerateArray().ToDictionary(i => i.GetProperty("role").GetString()!, i => i.Clone());

    private static List<string> KeyIds(JsonElement role) =>
        [.. (role.TryGetProperty("keyids", out var ids) ? ids : role.GetProperty("keys")).EnumerateArray().Select(k => k.GetString()!).Order(StringComparer.Ordinal)];

    private async Task<JsonElement> GetJsonAsync(string url)
    {
        var response = await _server.Http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private async Task AssertProblemAsync(string url, HttpStatusCode status)
    {
        var response = await _server.Http.GetAsync(url);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
    }
}
