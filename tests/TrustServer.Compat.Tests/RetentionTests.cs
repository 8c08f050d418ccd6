using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>Retention on PostgreSQL.</summary>
public sealed class RetentionOnPostgres(PostgresDatabaseFixture database) : RetentionTests, IClassFixture<PostgresDatabaseFixture>
{
    protected override ServerStorage Storage { get; } = new ServerStorage.Postgres(database.ConnectionString);
}

/// <summary>Retention on SQLite.</summary>
public sealed class RetentionOnSqlite : RetentionTests
{
    protected override ServerStorage Storage => new ServerStorage.Sqlite(Files.Combine("db", "trustserver.db"));
}

/// <summary>
/// Retention (<c>Retention</c> settings) against the real notary 0.7.0 client: the background pass of a server started
/// with a rule prunes old versions, and clients with old cached metadata (old root, old snapshot) still update.
/// </summary>
public abstract class RetentionTests : IDisposable
{
    private const int Publishes = 12;

    protected TemporaryDirectory Files { get; } = new("retention");

    protected abstract ServerStorage Storage { get; }

    [Fact]
    public async Task BackgroundPass_KeepsRootsAndCurrentChain_OldClientStillUpdates()
    {
        var gun = $"example.com/retention/{Guid.NewGuid():N}"[..50];
        var payload = Files.Combine("payload.txt");
        await File.WriteAllTextAsync(payload, "retained bits\n");

        // The clients' server: retention off. A second replica on the same database, started later, runs the pass.
        await using var before = await TrustServerInstance.StartAsync(Storage);
        using var publisher = before.NewClient();
        using var oldClient = before.NewClient();
        IReadOnlyList<PrunedVersion> expected;
        int feedBefore;
        {
            await publisher.RunCheckedAsync(["init", gun, "--publish"]);
            await publisher.RunCheckedAsync(["add", gun, "first", payload, "-p"]);

            // The old client caches root v1, targets, snapshot and timestamp as they are now.
            Assert.Contains("first", (await oldClient.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);

            // Root rotation (root v2), then many publishes.
            await publisher.RunCheckedAsync(["key", "rotate", gun, "root"], stdin: "yes\n");
            for (var i = 1; i <= Publishes; i++)
            {
                await publisher.RunCheckedAsync(["add", gun, $"v{i}", payload, "-p"]);
            }

            // What the background pass must remove: the same rule as a dry run.
            var rule = new RetentionPolicy(new RoleRetention(1, null), new Dictionary<string, RoleRetention>());
            var result = await before.Services.GetRequiredService<IMetadataRetention>()
                .PruneAsync(gun, rule, DateTimeOffset.UtcNow, 10_000, dryRun: true);
            expected = result.Removed;
            feedBefore = (await ChangefeedAsync(before.Http, gun)).Count;
        }

        Assert.DoesNotContain(expected, v => v.Role == "root");
        Assert.True(expected.Count(v => v.Role == "targets") >= Publishes - 1, string.Join(",", expected));
        Assert.Contains(expected, v => v.Role == "snapshot");
        Assert.Contains(expected, v => v.Role == "timestamp");

        await using var server = await TrustServerInstance.StartAsync(Storage, [
            new("Retention:Default:KeepVersions", "1"),
            new("Retention:BatchSize", "5"), // several transactions per repository
        ]);
        {
            // The pass runs at start on the replica holding the lease.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            JsonElement preview;
            do
            {
                await Task.Delay(200);
                preview = await server.Http.GetFromJsonAsync<JsonElement>($"/api/admin/v1/retention?gun={Uri.EscapeDataString(gun)}");
            }
            while (preview.GetProperty("count").GetInt32() > 0 && DateTime.UtcNow < deadline);
            Assert.Equal(0, preview.GetProperty("count").GetInt32());
            Assert.True(preview.GetProperty("enabled").GetBoolean());

            foreach (var removed in expected)
            {
                var response = await server.Http.GetAsync($"/v2/{gun}/_trust/tuf/{removed.Version}.{removed.Role}.json");
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            }

            // Every root version and the current chain answer, by version and by checksum.
            Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync($"/v2/{gun}/_trust/tuf/1.root.json")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync($"/v2/{gun}/_trust/tuf/2.root.json")).StatusCode);
            foreach (var role in new[] { "root", "targets", "snapshot", "timestamp" })
            {
                var current = await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json");
                var byChecksum = await server.Http.GetAsync($"/v2/{gun}/_trust/tuf/{role}.{Convert.ToHexStringLower(SHA256.HashData(current))}.json");
                Assert.Equal(HttpStatusCode.OK, byChecksum.StatusCode);
            }

            // Changefeed rows are never removed; the pruning is audited (system:retention).
            Assert.Equal(feedBefore, (await ChangefeedAsync(server.Http, gun)).Count);
            var audit = await server.Http.GetFromJsonAsync<JsonElement>($"/api/admin/v1/audit?gun={Uri.EscapeDataString(gun)}&action=retention");
            var entries = audit.GetProperty("items").EnumerateArray().ToList();
            Assert.True(entries.Count >= 2, audit.ToString()); // batches of 5
            Assert.All(entries, e => Assert.Equal("system:retention", e.GetProperty("principal").GetString()));
            Assert.Equal(
                expected.Select(v => $"{v.Role}@{v.Version}").Order(StringComparer.Ordinal),
                entries.SelectMany(e => e.GetProperty("files").GetString()!.Split(',')).Order(StringComparer.Ordinal));

            // The old client (root v1, old snapshot cached) follows the rotation and sees every publish.
            var listed = await oldClient.RunCheckedAsync(["list", gun]);
            var list = listed.StandardOutput;
            Assert.True(list.Contains($"v{Publishes}", StringComparison.Ordinal), listed.ToString());
            Assert.Contains("first", list, StringComparison.Ordinal);

            // A fresh client, and the publisher publishing on top of the pruned history.
            using var fresh = before.NewClient();
            Assert.Contains($"v{Publishes}", (await fresh.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
            await publisher.RunCheckedAsync(["add", gun, "after", payload, "-p"]);
            Assert.Contains("after", (await oldClient.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
        }
    }

    public void Dispose()
    {
        Files.Dispose();
        GC.SuppressFinalize(this);
    }

    private static async Task<List<JsonElement>> ChangefeedAsync(HttpClient http, string gun)
    {
        var feed = await http.GetFromJsonAsync<JsonElement>($"/v2/{gun}/_trust/changefeed?records=1000");
        return [.. feed.GetProperty("records").EnumerateArray()];
    }
}
