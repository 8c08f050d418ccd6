using System.Text.Json;
using Npgsql;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;
using TestProvider = TrustServer.Testing.NotaryDatabaseProvider;

namespace TrustServer.Compat.Tests.Import;

/// <summary>
/// <c>import notary-db</c> from a real notary-server 0.7.0 on PostgreSQL (issue 14): what the original serves,
/// TrustServer serves byte for byte; the clients that used the original carry on; re-runs are incremental; bad input
/// is reported per repository and row and leaves nothing half-written.
/// </summary>
[Collection(NotaryImportCollection.Name)]
public sealed class NotaryDbImportTests(NotaryDeploymentFixture fixture) : IClassFixture<NotaryDeploymentFixture>, IDisposable
{
    private readonly TemporaryDirectory _directory = new("notary-import");

    [Fact]
    public async Task Import_EveryUrlOfTheOriginalIsByteIdentical_AndTheSameTrustDirectoriesContinue()
    {
        var destination = await fixture.NewDatabaseAsync("trustserver_import");
        var reportFile = _directory.Combine("report.json");
        var (exit, output, error) = await NotaryDeploymentFixture.RunImportAsync([.. ImportArgs(destination), "--report", reportFile]);
        Assert.True(exit == 0, $"exit {exit}\n{output}\n{error}");
        AssertNoPassword(output + error, destination, fixture.ServerDatabase);

        using (var report = JsonDocument.Parse(await File.ReadAllTextAsync(reportFile)))
        {
            var guns = report.RootElement.GetProperty("guns").EnumerateArray().ToDictionary(g => g.GetProperty("gun").GetString()!);
            Assert.Equal("Deleted", guns[fixture.Deleted].GetProperty("status").GetString());
            foreach (var gun in new[] { fixture.Plain, fixture.ServerSnapshot, fixture.Delegated, fixture.RootRotated, fixture.Recreated, fixture.Late })
            {
                Assert.True(guns[gun].GetProperty("status").GetString() == "Ok", $"{gun}: {guns[gun]}");
                var timestampKeys = guns[gun].GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("role").GetString() == "timestamp");
                Assert.Equal(1, timestampKeys.GetProperty("held").GetArrayLength());
            }

            var snapshotKeys = guns[fixture.ServerSnapshot].GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("role").GetString() == "snapshot");
            Assert.Equal(1, snapshotKeys.GetProperty("held").GetArrayLength());
        }

        await using var server = await TrustServerInstance.StartAsync(new ServerStorage.Postgres(destination), KeySettings());
        using var original = new HttpClient { BaseAddress = new Uri(fixture.Server.Url) };

        // Every stored version by version and by checksum, and every repository's current files.
        var rows = await fixture.SourceFilesAsync();
        Assert.NotEmpty(rows);
        foreach (var (_, gun, role, version, data) in rows)
        {
            await AssertSameAsync(original, server.Http, $"/v2/{gun}/_trust/tuf/{version}.{role}.json", data);
            await AssertSameAsync(original, server.Http, $"/v2/{gun}/_trust/tuf/{role}.{NotaryDeploymentFixture.Sha256Hex(data)}.json", data);
        }

        foreach (var gun in rows.Select(r => r.Gun).Distinct())
        {
            foreach (var role in rows.Where(r => r.Gun == gun).Select(r => r.Role).Distinct())
            {
                await AssertSameAsync(original, server.Http, $"/v2/{gun}/_trust/tuf/{role}.json", expected: null);
            }
        }

        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await server.Http.GetAsync($"/v2/{fixture.Deleted}/_trust/tuf/root.json")).StatusCode);
        Assert.Equal(await ChangesAsync(original), await ChangesAsync(server.Http));

        // The trust directories that used the original continue against TrustServer without re-init.
        var url = server.Url;
        var c = fixture.Client;
        Assert.Contains("v3", (await c.RunCheckedAsync(["-s", url, "list", fixture.Plain])).StandardOutput, StringComparison.Ordinal);
        Assert.Contains(NotaryDeploymentFixture.Sha256Hex(await File.ReadAllBytesAsync(fixture.Payload)),
            (await c.RunCheckedAsync(["-s", url, "lookup", fixture.Plain, "v1"])).StandardOutput, StringComparison.Ordinal);
        await c.RunCheckedAsync(["-s", url, "verify", fixture.Plain, "v1"], stdin: await File.ReadAllTextAsync(fixture.Payload));
        await c.RunCheckedAsync(["-s", url, "add", fixture.Plain, "after-import", fixture.Payload, "-p"]);
        await c.RunCheckedAsync(["-s", url, "add", fixture.Delegated, "releases/v2", fixture.Payload, "--roles", "targets/releases", "-p"]);
        await c.RunCheckedAsync(["-s", url, "add", fixture.ServerSnapshot, "s2", fixture.Payload, "-p"]);
        await c.RunCheckedAsync(["-s", url, "key", "rotate", fixture.RootRotated, "targets"]);
        await c.RunCheckedAsync(["-s", url, "key", "rotate", fixture.RootRotated, "timestamp", "-r"]);
        await c.RunCheckedAsync(["-s", url, "add", fixture.RootRotated, "r2", fixture.Payload, "-p"]);
        Assert.Contains("new", (await fixture.RecreatingClient.RunCheckedAsync(["-s", url, "list", fixture.Recreated])).StandardOutput, StringComparison.Ordinal);

        using var other = server.NewClient();
        Assert.Contains("after-import", (await other.RunCheckedAsync(["list", fixture.Plain])).StandardOutput, StringComparison.Ordinal);
        Assert.Contains("releases/v2", (await other.RunCheckedAsync(["list", fixture.Delegated])).StandardOutput, StringComparison.Ordinal);
        Assert.Contains("r2", (await other.RunCheckedAsync(["list", fixture.RootRotated])).StandardOutput, StringComparison.Ordinal);

        // TrustServer's own records continue the feed above every imported id.
        var feed = await ChangesAsync(server.Http);
        var imported = await ChangesAsync(original);
        Assert.True(long.Parse(feed[^1].Id, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(imported[^1].Id, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task ReRun_SkipsWhatIsThere_AndPicksUpLateWrites()
    {
        var destination = await fixture.NewDatabaseAsync("trustserver_rerun");
        var first = await NotaryDeploymentFixture.RunImportAsync(ImportArgs(destination));
        Assert.True(first.ExitCode == 0, first.Output + first.Error);

        var again = await NotaryDeploymentFixture.RunImportAsync([.. ImportArgs(destination), "--report", _directory.Combine("again.json")]);
        Assert.True(again.ExitCode == 0, again.Output + again.Error);
        using (var report = JsonDocument.Parse(await File.ReadAllTextAsync(_directory.Combine("again.json"))))
        {
            Assert.All(report.RootElement.GetProperty("guns").EnumerateArray(), g =>
            {
                Assert.Equal(0, g.GetProperty("filesAdded").GetInt32());
                Assert.Equal(0, g.GetProperty("changesAdded").GetInt32());
            });
        }

        // A late write to the original (before traffic is switched) is exactly what the next run adds.
        await fixture.Client.RunCheckedAsync(["add", fixture.Late, $"late-{Guid.NewGuid():N}", fixture.Payload, "-p"]);
        var late = await NotaryDeploymentFixture.RunImportAsync([.. ImportArgs(destination), "--report", _directory.Combine("late.json")]);
        Assert.True(late.ExitCode == 0, late.Output + late.Error);
        using (var report = JsonDocument.Parse(await File.ReadAllTextAsync(_directory.Combine("late.json"))))
        {
            var changed = report.RootElement.GetProperty("guns").EnumerateArray().Where(g => g.GetProperty("filesAdded").GetInt32() > 0).ToList();
            var only = Assert.Single(changed);
            Assert.Equal(fixture.Late, only.GetProperty("gun").GetString());
            Assert.Equal(3, only.GetProperty("filesAdded").GetInt32());
            Assert.Equal(1, only.GetProperty("changesAdded").GetInt32());
        }

        await using var server = await TrustServerInstance.StartAsync(new ServerStorage.Postgres(destination), KeySettings());
        using var original = new HttpClient { BaseAddress = new Uri(fixture.Server.Url) };
        await AssertSameAsync(original, server.Http, $"/v2/{fixture.Late}/_trust/tuf/timestamp.json", expected: null);
    }

    [Fact]
    public async Task DryRun_VerifiesTheSource_AndWritesNothing()
    {
        var destination = await fixture.NewDatabaseAsync("trustserver_dry");
        var (exit, output, error) = await NotaryDeploymentFixture.RunImportAsync([.. ImportArgs(destination), "--dry-run", "--gun-prefix", fixture.Plain]);
        Assert.True(exit == 0, output + error);
        Assert.Contains("Dry run", output, StringComparison.Ordinal);
        Assert.Contains("1 repositories: 1 ok", output, StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(destination);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_name = 'tuf_files'", connection);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task UnreachableSource_OneLine_Exit1_NoPassword()
    {
        var destination = await fixture.NewDatabaseAsync("trustserver_unreachable");
        const string secret = "s3cret-source-password";
        var (exit, output, error) = await NotaryDeploymentFixture.RunImportAsync(
            "notary-db", "--from", $"Host=127.0.0.1;Port={TestPorts.GetFreeTcpPort()};Database=notaryserver;Username=server;Password={secret};Timeout=3", "--provider", "postgres",
            "--Storage:Provider=Postgres", $"--ConnectionStrings:Metadata={destination}", $"--ConnectionStrings:Keys={destination}");
        Assert.Equal(1, exit);
        Assert.Contains("cannot connect to PostgreSQL 127.0.0.1", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.DoesNotContain(secret, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotANotarySchema_ReportedExit1()
    {
        var empty = await fixture.NewDatabaseAsync("not_notary");
        var destination = await fixture.NewDatabaseAsync("trustserver_notnotary");
        var (exit, _, error) = await NotaryDeploymentFixture.RunImportAsync(ImportArgs(destination, source: empty));
        Assert.Equal(1, exit);
        Assert.Contains("is not a notary-server database: it has no table tuf_files", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--provider", "oracle")]
    [InlineData("--batch", "0")]
    [InlineData("--gun-prefx", "x")]
    public async Task UsageErrors_OneLine_Exit2(string option, string value)
    {
        var (exit, output, error) = await NotaryDeploymentFixture.RunImportAsync("notary-db", "--from", "Host=localhost;Password=hidden-pw", "--provider", "postgres", option, value);
        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Single(error.Trim().Split('\n'));
        Assert.DoesNotContain("hidden-pw", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadRows_AndBrokenChain_ReportedPerGunAndRow_NothingHalfWritten()
    {
        // A copy of the source with: invalid JSON in one row of Plain, a wrong recorded hash in one row of Delegated,
        // and RootRotated without the snapshot its current timestamp names (rows fine, chain broken).
        var source = await fixture.NewDatabaseAsync("notary_bad");
        await NotaryServerSchema.CreateServerTablesAsync(TestProvider.Postgres, source);
        var rows = await fixture.SourceFilesAsync();
        var currentSnapshotOfRotated = rows.Where(r => r.Gun == fixture.RootRotated && r.Role == "snapshot").MaxBy(r => r.Version);
        long invalidJsonRow = 0;
        await using (var connection = new NpgsqlConnection(source))
        {
            await connection.OpenAsync();
            foreach (var row in rows.Where(r => r.Gun == fixture.Plain || r.Gun == fixture.Delegated || r.Gun == fixture.RootRotated || r.Gun == fixture.ServerSnapshot))
            {
                if (row == currentSnapshotOfRotated)
                {
                    continue;
                }

                var data = row.Data;
                var sha = NotaryDeploymentFixture.Sha256Hex(data);
                if (row.Gun == fixture.Plain && row.Role == "targets" && row.Version == 2)
                {
                    data = "{\"signed\": not json"u8.ToArray();
                    sha = NotaryDeploymentFixture.Sha256Hex(data);
                }
                else if (row.Gun == fixture.Delegated && row.Role == "root")
                {
                    sha = new string('0', 64);
                }

                await using var insert = new NpgsqlCommand(
                    "INSERT INTO tuf_files (id, created_at, updated_at, gun, role, version, data, sha256) VALUES (@id, now(), now(), @gun, @role, @version, @data, @sha) ", connection);
                insert.Parameters.AddWithValue("id", (int)row.Id);
                insert.Parameters.AddWithValue("gun", row.Gun);
                insert.Parameters.AddWithValue("role", row.Role);
                insert.Parameters.AddWithValue("version", (int)row.Version);
                insert.Parameters.AddWithValue("data", data);
                insert.Parameters.AddWithValue("sha", sha);
                await insert.ExecuteNonQueryAsync();
                if (row.Gun == fixture.Plain && row.Role == "targets" && row.Version == 2)
                {
                    invalidJsonRow = row.Id;
                }
            }
        }

        var destination = await fixture.NewDatabaseAsync("trustserver_bad");
        var reportFile = _directory.Combine("bad.json");
        var (exit, output, error) = await NotaryDeploymentFixture.RunImportAsync([.. ImportArgs(destination, source), "--report", reportFile]);
        Assert.True(exit == 1, $"exit {exit}\n{output}\n{error}");
        Assert.Contains($"row tuf_files id {invalidJsonRow} (targets version 2): not valid TUF metadata", output, StringComparison.Ordinal);
        Assert.Contains("recorded sha256 0000", output, StringComparison.Ordinal);

        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(reportFile));
        var guns = report.RootElement.GetProperty("guns").EnumerateArray().ToDictionary(g => g.GetProperty("gun").GetString()!, g => g.GetProperty("status").GetString());
        Assert.Equal("Failed", guns[fixture.Plain]);
        Assert.Equal("Failed", guns[fixture.Delegated]);
        Assert.Equal("Broken", guns[fixture.RootRotated]);
        Assert.Equal("Ok", guns[fixture.ServerSnapshot]);

        // The failed repositories left nothing behind; the others are whole.
        await using var check = new NpgsqlConnection(destination);
        await check.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT gun, count(*) FROM tuf_files GROUP BY gun", check);
        var stored = new Dictionary<string, long>();
        await using (var reader = await count.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        Assert.False(stored.ContainsKey(fixture.Plain));
        Assert.False(stored.ContainsKey(fixture.Delegated));
        Assert.Equal(rows.Count(r => r.Gun == fixture.ServerSnapshot), stored[fixture.ServerSnapshot]);
    }

    private string[] ImportArgs(string destination, string? source = null) =>
    [
        "notary-db", "--from", source ?? fixture.ServerDatabase, "--provider", "postgres",
        "--Storage:Provider=Postgres", $"--ConnectionStrings:Metadata={destination}",
        $"--ConnectionStrings:Keys={fixture.SignerDatabase}", $"--Signing:PassphraseAlias={NotaryDeploymentFixture.Alias}",
    ];

    private List<KeyValuePair<string, string?>> KeySettings() =>
        [new("ConnectionStrings:Keys", fixture.SignerDatabase), new("Signing:PassphraseAlias", NotaryDeploymentFixture.Alias)];

    private static void AssertNoPassword(string text, params string[] connectionStrings)
    {
        foreach (var connection in connectionStrings)
        {
            var password = new NpgsqlConnectionStringBuilder(connection).Password;
            if (!string.IsNullOrEmpty(password))
            {
                Assert.DoesNotContain(password, text, StringComparison.Ordinal);
            }
        }
    }

    private static async Task AssertSameAsync(HttpClient original, HttpClient ours, string path, byte[]? expected)
    {
        using var theirs = await original.GetAsync(path);
        using var mine = await ours.GetAsync(path);
        Assert.True(theirs.StatusCode == mine.StatusCode, $"{path}: notary-server {theirs.StatusCode}, TrustServer {mine.StatusCode}");
        var theirBytes = await theirs.Content.ReadAsByteArrayAsync();
        var myBytes = await mine.Content.ReadAsByteArrayAsync();
        Assert.True(theirBytes.AsSpan().SequenceEqual(myBytes), $"{path}: bytes differ");
        if (expected is not null)
        {
            Assert.True(theirBytes.AsSpan().SequenceEqual(expected), $"{path}: not the stored row");
        }
    }

    private sealed record Change(string Id, string Gun, long Version, string Sha256, string Category);

    private static async Task<List<Change>> ChangesAsync(HttpClient http)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync("/v2/_trust/changefeed?change_id=0&records=1000"));
        return document.RootElement.GetProperty("records").EnumerateArray().Select(r => new Change(
            r.GetProperty("ID").GetString()!, r.GetProperty("GUN").GetString()!, r.GetProperty("Version").GetInt64(),
            r.GetProperty("SHA256").GetString()!.Trim(), r.GetProperty("Category").GetString()!)).ToList();
    }

    public void Dispose() => _directory.Dispose();
}
