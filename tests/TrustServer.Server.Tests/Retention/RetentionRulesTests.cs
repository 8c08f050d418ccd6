using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Options;
using TrustServer.Server.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Retention;

/// <summary>A server on SQLite with <c>Retention:Default:KeepVersions = 3</c>; repositories are published after its start-up pass.</summary>
public sealed class RetentionServerFixture : IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("trustserver-retention");
    private TrustServerInstance? _server;

    /// <summary>The running server.</summary>
    public TrustServerInstance Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _server = await TrustServerInstance.StartAsync(
        new ServerStorage.Sqlite(_directory.Combine("trustserver.db")), [new("Retention:Default:KeepVersions", "3")]);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _directory.Dispose();
    }
}

/// <summary>
/// Which versions retention removes (<see cref="IMetadataRetention"/> on SQLite, files published over HTTP): beyond
/// KeepVersions AND older than KeepDays, never root, the newest of a role or what the current chain names; the
/// admin dry run; the settings' validation.
/// </summary>
public sealed class RetentionRulesTests(RetentionServerFixture fixture) : IClassFixture<RetentionServerFixture>
{
    private static readonly IReadOnlyDictionary<string, RoleRetention> NoRoles = new Dictionary<string, RoleRetention>();

    private IMetadataRetention Retention => fixture.Server.Services.GetRequiredService<IMetadataRetention>();

    [Fact]
    public async Task VersionsAndAge_BothMustHold_PerRoleRulesOverrideTheDefault()
    {
        var (repo, _) = await PublishedAsync("example.com/retention/rules", 8);
        using var _repo = repo;
        var now = DateTimeOffset.UtcNow;
        var later = now.AddDays(2);

        // KeepVersions 3: versions 1-5 of targets, snapshot and timestamp; root (one version) stays.
        Assert.Equal(Versions(5), await DueAsync(repo.Gun, new(new(3, null), NoRoles), now));

        // KeepDays 1: nothing is a day old yet; two days later every version but the current ones.
        Assert.Empty(await DueAsync(repo.Gun, new(new(null, TimeSpan.FromDays(1)), NoRoles), now));
        Assert.Equal(Versions(7), await DueAsync(repo.Gun, new(new(null, TimeSpan.FromDays(1)), NoRoles), later));

        // Both: only what is beyond 3 AND older than a day.
        Assert.Empty(await DueAsync(repo.Gun, new(new(3, TimeSpan.FromDays(1)), NoRoles), now));
        Assert.Equal(Versions(5), await DueAsync(repo.Gun, new(new(3, TimeSpan.FromDays(1)), NoRoles), later));

        // A role's own rule replaces the default; roles without one and no default keep everything.
        var targetsOnly = new RetentionPolicy(null, new Dictionary<string, RoleRetention> { ["targets"] = new(1, null) });
        Assert.Equal(Enumerable.Range(1, 7).Select(v => $"targets@{v}"), await DueAsync(repo.Gun, targetsOnly, now));
        var keepTimestamps = new RetentionPolicy(new(1, null), new Dictionary<string, RoleRetention> { ["timestamp"] = new(null, null) });
        Assert.DoesNotContain(await DueAsync(repo.Gun, keepTimestamps, now), v => v.StartsWith("timestamp@", StringComparison.Ordinal));

        // Dry runs removed nothing.
        Assert.Equal(HttpStatusCode.OK, (await repo.GetAsync("1.targets.json")).StatusCode);
    }

    [Fact]
    public async Task AnOldTargetsTheCurrentSnapshotNames_Stays()
    {
        // Targets v1 stays current while snapshot and timestamp move on (the new snapshots name targets v1 again).
        using var repo = await ServerRepository.CreateAsync(fixture.Server.Http, "example.com/retention/named");
        var targets = await repo.InitializeAsync();
        for (var v = 2; v <= 4; v++)
        {
            var response = await repo.PublishAsync(("snapshot", repo.Snapshot(v, targets)));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        var due = await DueAsync(repo.Gun, new(new(1, null), NoRoles), DateTimeOffset.UtcNow.AddYears(1));
        Assert.Equal(["snapshot@1", "snapshot@2", "snapshot@3", "timestamp@1", "timestamp@2", "timestamp@3"], due);
    }

    [Fact]
    public async Task DryRunEndpoint_ListsWhatPruningThenRemoves_InAuditedBatches()
    {
        var (repo, feed) = await PublishedAsync("example.com/retention/prune", 8);
        using var _repo = repo;
        var gun = Uri.EscapeDataString(repo.Gun);

        var preview = await fixture.Server.Http.GetFromJsonAsync<JsonElement>($"/api/admin/v1/retention?gun={gun}");
        Assert.True(preview.GetProperty("enabled").GetBoolean());
        var listed = preview.GetProperty("versions").EnumerateArray()
            .Select(v => $"{v.GetProperty("role").GetString()}@{v.GetProperty("version").GetInt64()}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Versions(5), listed);
        Assert.Equal(15, preview.GetProperty("count").GetInt32());
        Assert.True(preview.GetProperty("bytes").GetInt64() > 0);

        // Batches of 4: four transactions, each with its audit entry.
        var policy = fixture.Server.Services.GetRequiredService<IOptions<TrustServer.Server.Retention.RetentionOptions>>().Value.ToPolicy();
        var removed = new List<string>();
        RetentionResult result;
        var transactions = 0;
        do
        {
            result = await Retention.PruneAsync(repo.Gun, policy, DateTimeOffset.UtcNow, 4, dryRun: false);
            removed.AddRange(result.Removed.Select(v => $"{v.Role}@{v.Version}"));
            transactions++;
        }
        while (result.More);
        Assert.Equal(4, transactions);
        Assert.Equal(listed, removed.Order(StringComparer.Ordinal));

        Assert.Equal(HttpStatusCode.NotFound, (await repo.GetAsync("5.targets.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await repo.GetAsync("6.targets.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await repo.GetAsync("1.root.json")).StatusCode);
        foreach (var role in new[] { "root", "targets", "snapshot", "timestamp" })
        {
            var current = await (await repo.GetAsync($"{role}.json")).Content.ReadAsByteArrayAsync();
            Assert.Equal(HttpStatusCode.OK, (await repo.GetAsync($"{role}.{Convert.ToHexStringLower(SHA256.HashData(current))}.json")).StatusCode);
        }

        Assert.Equal(feed, await ChangefeedCountAsync(repo.Gun));
        var audit = await fixture.Server.Http.GetFromJsonAsync<JsonElement>($"/api/admin/v1/audit?gun={gun}&action=retention");
        Assert.Equal(4, audit.GetProperty("items").GetArrayLength());
        Assert.Equal(0, (await fixture.Server.Http.GetFromJsonAsync<JsonElement>($"/api/admin/v1/retention?gun={gun}")).GetProperty("count").GetInt32());

        // Publishing goes on after pruning.
        var next = repo.Targets(9, "v9");
        Assert.True((await repo.PublishAsync(("targets", next), ("snapshot", repo.Snapshot(9, next)))).IsSuccessStatusCode);
    }

    [Theory]
    [InlineData("", HttpStatusCode.BadRequest)]
    [InlineData("?gun=example.com/retention/none", HttpStatusCode.NotFound)]
    [InlineData("?gun=example.com/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", HttpStatusCode.BadRequest)]
    public async Task DryRunEndpoint_BadRequests_AreProblemDetails(string query, HttpStatusCode status)
    {
        using var response = await fixture.Server.Http.GetAsync("/api/admin/v1/retention" + query);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("Retention:Roles:root:KeepVersions", "5", "Retention:Roles:root")]
    [InlineData("Retention:Default:KeepVersions", "0", "KeepVersions must be at least 1")]
    [InlineData("Retention:Roles:targets:KeepDays", "-1", "KeepDays at least 0")]
    [InlineData("Retention:Roles:bogus:KeepDays", "3", "Retention:Roles keys must be role names")]
    [InlineData("Retention:Interval", "00:00:10", "Retention:Interval must be between")]
    [InlineData("Retention:BatchSize", "0", "BatchSize")]
    public async Task BadSettings_StopTheStart(string key, string value, string message)
    {
        using var directory = new TemporaryDirectory("trustserver-retention-settings");
        await using var app = TrustServerHost.Build(
            ["--urls", "http://127.0.0.1:0", "--contentRoot", directory.Path],
            [.. new ServerStorage.Sqlite(directory.Combine("db.sqlite")).Settings, new(key, value)]);
        var error = Assert.Throws<OptionsValidationException>(() => app.Services.ValidateOptions());
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static List<string> Versions(int upTo) =>
        [.. new[] { "snapshot", "targets", "timestamp" }.SelectMany(r => Enumerable.Range(1, upTo).Select(v => $"{r}@{v}")).Order(StringComparer.Ordinal)];

    private async Task<List<string>> DueAsync(string gun, RetentionPolicy policy, DateTimeOffset now)
    {
        var result = await Retention.PruneAsync(gun, policy, now, 1, dryRun: true);
        Assert.Null(result.Refused);
        return [.. result.Removed.Select(v => $"{v.Role}@{v.Version}").Order(StringComparer.Ordinal)];
    }

    private async Task<(ServerRepository Repo, int Feed)> PublishedAsync(string name, int versions)
    {
        var repo = await ServerRepository.CreateAsync(fixture.Server.Http, $"{name}-{Guid.NewGuid():N}"[..50]);
        await repo.InitializeAsync();
        for (var v = 2; v <= versions; v++)
        {
            var targets = repo.Targets(v, $"v{v}");
            var response = await repo.PublishAsync(("targets", targets), ("snapshot", repo.Snapshot(v, targets)));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        return (repo, await ChangefeedCountAsync(repo.Gun));
    }

    private async Task<int> ChangefeedCountAsync(string gun) =>
        (await fixture.Server.Http.GetFromJsonAsync<JsonElement>($"/v2/{gun}/_trust/changefeed?records=1000")).GetProperty("records").GetArrayLength();
}
