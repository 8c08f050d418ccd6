using System.Net;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;

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
