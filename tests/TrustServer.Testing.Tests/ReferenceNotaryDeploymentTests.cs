using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using TrustServer.Testing;
using Xunit.Abstractions;

namespace TrustServer.Testing.Tests;

/// <summary>One populated deployment per provider, shared by the tests of that provider.</summary>
public abstract class ReferenceNotaryDeploymentFixture(NotaryDatabaseProvider provider, int manyVersions) : IAsyncLifetime
{
    public int ManyVersions => manyVersions;

    private ReferenceNotaryDeployment? _deployment;

    public ReferenceNotaryDeployment Deployment => _deployment ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() =>
        _deployment = await ReferenceNotaryDeployment.StartAsync(new ReferenceNotaryDeploymentOptions { Provider = provider, ManyVersionsCount = manyVersions });

    public async Task DisposeAsync()
    {
        if (_deployment is not null)
        {
            await _deployment.DisposeAsync();
        }
    }
}

// The full 300 versions on one provider; fewer on the other (both populate at the same time).
public sealed class PostgresNotaryDeploymentFixture() : ReferenceNotaryDeploymentFixture(NotaryDatabaseProvider.Postgres, 300);

public sealed class MariaDbNotaryDeploymentFixture() : ReferenceNotaryDeploymentFixture(NotaryDatabaseProvider.MySql, 60);

public sealed class PostgresNotaryDeploymentTests(PostgresNotaryDeploymentFixture fixture, ITestOutputHelper output)
    : ReferenceNotaryDeploymentTests(fixture, output), IClassFixture<PostgresNotaryDeploymentFixture>;

public sealed class MariaDbNotaryDeploymentTests(MariaDbNotaryDeploymentFixture fixture, ITestOutputHelper output)
    : ReferenceNotaryDeploymentTests(fixture, output), IClassFixture<MariaDbNotaryDeploymentFixture>;

public sealed class ReferenceNotaryDeploymentContinuationTests
{
    [Fact]
    public async Task OwnerClient_CarriesOnWithItsTrustDirectory_ChosenScenariosOnly()
    {
        await using var deployment = await ReferenceNotaryDeployment.StartAsync(new ReferenceNotaryDeploymentOptions
        {
            Scenarios = [NotaryScenario.RotatedRoot],
            GunPrefix = "example.com/continue",
        });
        var repository = Assert.Single(deployment.Repositories);
        Assert.Equal("example.com/continue/rotated-root", repository.Gun);
        Assert.Throws<InvalidOperationException>(() => deployment.Repository(NotaryScenario.Plain));

        // The same trust directory and passphrases publish again; -s names the server as a cut-over would.
        var payload = Path.Combine(Path.GetDirectoryName(repository.Client.TrustDirectory)!, "continued.txt");
        await File.WriteAllTextAsync(payload, "continued\n");
        await repository.Client.RunCheckedAsync(["-s", deployment.ServerUrl, "add", repository.Gun, "continued", payload, "--publish"]);
        using var fresh = new NotaryCli(deployment.ServerUrl);
        var list = (await fresh.RunCheckedAsync(["list", repository.Gun])).StandardOutput;
        Assert.Contains("continued", list, StringComparison.Ordinal);
        Assert.Contains(repository.Targets["v2"], list, StringComparison.Ordinal);
    }
}

/// <summary>What each scenario claims, checked in notary-server's and notary-signer's databases and with a fresh client.</summary>
public abstract class ReferenceNotaryDeploymentTests(ReferenceNotaryDeploymentFixture fixture, ITestOutputHelper output)
{
    private readonly ReferenceNotaryDeployment _deployment = fixture.Deployment;

    [Fact]
    public async Task EveryRepository_FreshClientListsItsTargets_AndRowsMatchTheirBytes()
    {
        output.WriteLine($"{_deployment.Provider}: populated {_deployment.Repositories.Count} repositories in {_deployment.PopulationTime.TotalSeconds:F1} s");
        foreach (var repository in _deployment.Repositories)
        {
            output.WriteLine($"  {repository}: {repository.Publishes} publishes in {repository.PopulationTime.TotalSeconds:F1} s");
        }

        Assert.Equal(Enum.GetValues<NotaryScenario>().Length, _deployment.Repositories.Count);
        foreach (var repository in _deployment.Repositories)
        {
            using var fresh = new NotaryCli(_deployment.ServerUrl);
            var list = (await fresh.RunCheckedAsync(["list", repository.Gun])).StandardOutput;
            foreach (var (target, sha256) in repository.Targets)
            {
                Assert.Contains(target, list, StringComparison.Ordinal);
                Assert.Contains(sha256, list, StringComparison.Ordinal);
            }

            Assert.Equal(repository.Targets.Count, Regex.Matches(list, @"\b[0-9a-f]{64}\b").Count);
        }

        // sha256 column = SHA-256 of data, created_at set, no soft deletes: what notary-server writes.
        var rows = await QueryAsync(_deployment.ServerDatabaseConnectionString, "SELECT data, sha256, created_at, deleted_at FROM tuf_files");
        Assert.NotEmpty(rows);
        foreach (var row in rows)
        {
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData((byte[])row[0]!)), ((string)row[1]!).Trim());
            Assert.NotNull(row[2]);
            Assert.Null(row[3]);
        }
    }

    [Fact]
    public async Task Plain_OneTimestampVersionPerPublish_ChangefeedFollows()
    {
        var repository = _deployment.Repository(NotaryScenario.Plain);
        Assert.Equal(3, repository.Publishes);
        Assert.Equal(["v1", "v2", "v3", "v4"], repository.Targets.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { 1, 2, 3 }, await VersionsAsync(repository.Gun, "timestamp"));
        AssertConsecutive(3, await VersionsAsync(repository.Gun, "targets"));
        Assert.Equal(new[] { 1 }, await VersionsAsync(repository.Gun, "root"));
        var feed = await ChangefeedAsync(repository.Gun);
        Assert.Equal([(1, "update"), (2, "update"), (3, "update")], feed.Select(f => (f.Version, f.Category)));
    }

    [Fact]
    public async Task Delegations_DelegateRoleRowsAndPathsStored()
    {
        var repository = _deployment.Repository(NotaryScenario.Delegations);
        Assert.Equal(new[] { 1, 2 }, await VersionsAsync(repository.Gun, "targets/releases"));
        var targets = JsonDocument.Parse(await CurrentAsync(repository.Gun, "targets"));
        var delegation = targets.RootElement.GetProperty("signed").GetProperty("delegations").GetProperty("roles")[0];
        Assert.Equal("targets/releases", delegation.GetProperty("name").GetString());
        Assert.Equal(["release/"], delegation.GetProperty("paths").EnumerateArray().Select(p => p.GetString()));
        var releases = JsonDocument.Parse(await CurrentAsync(repository.Gun, "targets/releases"));
        Assert.Equal(
            ["release/v1", "release/v2"],
            releases.RootElement.GetProperty("signed").GetProperty("targets").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        // The delegate's client holds the delegation key, not the repository's.
        var keys = (await repository.DelegateClient!.RunCheckedAsync(["key", "list"])).StandardOutput;
        Assert.Contains("targets/releases", keys, StringComparison.Ordinal);
        Assert.DoesNotContain(" root ", keys, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnapshotOnServer_SignerHoldsTheSnapshotKeyTheRootLists()
    {
        var repository = _deployment.Repository(NotaryScenario.SnapshotOnServer);
        var root = JsonDocument.Parse(await CurrentAsync(repository.Gun, "root")).RootElement.GetProperty("signed");
        Assert.Equal(2, root.GetProperty("version").GetInt32());
        var snapshotKey = Assert.Single(root.GetProperty("roles").GetProperty("snapshot").GetProperty("keyids").EnumerateArray()).GetString();
        var timestampKey = Assert.Single(root.GetProperty("roles").GetProperty("timestamp").GetProperty("keyids").EnumerateArray()).GetString();
        var signerKeys = await QueryAsync(
            _deployment.SignerDatabaseConnectionString,
            $"SELECT key_id, role, passphrase_alias, algorithm FROM private_keys WHERE gun = '{repository.Gun}'");
        Assert.Contains(signerKeys, k => (string)k[0]! == snapshotKey && (string)k[1]! == "snapshot");
        Assert.Contains(signerKeys, k => (string)k[0]! == timestampKey && (string)k[1]! == "timestamp");
        Assert.All(signerKeys, k => Assert.Equal((ReferenceNotaryDeployment.SignerAlias, "ecdsa"), ((string)k[2]!, (string)k[3]!)));

        // The snapshots published after the rotation are signed by the server's key.
        var snapshot = JsonDocument.Parse(await CurrentAsync(repository.Gun, "snapshot")).RootElement;
        Assert.Equal(snapshotKey, Assert.Single(snapshot.GetProperty("signatures").EnumerateArray()).GetProperty("keyid").GetString());
        Assert.Equal(4, (await VersionsAsync(repository.Gun, "timestamp")).Max());
    }

    [Fact]
    public async Task RotatedRoot_TwoRootVersions_SecondSignedByOldAndNewKey()
    {
        var repository = _deployment.Repository(NotaryScenario.RotatedRoot);
        Assert.Equal(new[] { 1, 2 }, await VersionsAsync(repository.Gun, "root"));
        var root = JsonDocument.Parse(await CurrentAsync(repository.Gun, "root")).RootElement;
        Assert.Equal(2, root.GetProperty("signatures").GetArrayLength());
        Assert.Equal(4, (await VersionsAsync(repository.Gun, "timestamp")).Max());
    }

    [Fact]
    public async Task DeletedAndRecreated_DeletionInChangefeed_VersionsRestartAtOne()
    {
        var repository = _deployment.Repository(NotaryScenario.DeletedAndRecreated);
        Assert.Equal(new[] { 1, 2 }, await VersionsAsync(repository.Gun, "timestamp"));
        Assert.Equal(new[] { 1 }, await VersionsAsync(repository.Gun, "root"));
        var feed = await ChangefeedAsync(repository.Gun);
        Assert.Equal(
            [(1, "update"), (2, "update"), (0, "deletion"), (1, "update"), (2, "update")],
            feed.Select(f => (f.Category == "deletion" ? 0 : f.Version, f.Category)));
        Assert.Equal(["after-recreate"], repository.Targets.Keys);
    }

    [Fact]
    public async Task ManyVersions_EveryPublishStored()
    {
        var repository = _deployment.Repository(NotaryScenario.ManyVersions);
        var expected = Enumerable.Range(1, fixture.ManyVersions).ToArray();
        Assert.Equal(expected, await VersionsAsync(repository.Gun, "timestamp"));
        AssertConsecutive(expected.Length, await VersionsAsync(repository.Gun, "targets"));
        Assert.Equal(expected, (await ChangefeedAsync(repository.Gun)).Select(f => f.Version));
        Assert.Equal(fixture.ManyVersions - 1, repository.Targets.Count);
    }

    // One stored version per publish, no gaps (the client numbers targets from its own local start).
    private static void AssertConsecutive(int count, int[] versions)
    {
        Assert.Equal(count, versions.Length);
        Assert.Equal(Enumerable.Range(versions[0], count), versions);
    }

    private async Task<int[]> VersionsAsync(string gun, string role) =>
        [.. (await QueryAsync(_deployment.ServerDatabaseConnectionString, $"SELECT version FROM tuf_files WHERE gun = '{gun}' AND role = '{role}' ORDER BY version"))
            .Select(r => Convert.ToInt32(r[0], CultureInfo.InvariantCulture))];

    private async Task<List<(int Version, string Category)>> ChangefeedAsync(string gun) =>
        [.. (await QueryAsync(_deployment.ServerDatabaseConnectionString, $"SELECT version, category FROM changefeed WHERE gun = '{gun}' ORDER BY id"))
            .Select(r => (Convert.ToInt32(r[0], CultureInfo.InvariantCulture), (string)r[1]!))];

    private async Task<string> CurrentAsync(string gun, string role)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri($"{_deployment.ServerUrl}/v2/{gun}/_trust/tuf/{role}.json"));
    }

    private async Task<List<object?[]>> QueryAsync(string connectionString, string sql)
    {
        await using var connection = await NotaryServerSchema.OpenConnectionAsync(_deployment.Provider, connectionString);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using DbDataReader reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }
}
