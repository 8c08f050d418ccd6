using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;
using TestProvider = TrustServer.Testing.NotaryDatabaseProvider;

namespace TrustServer.Compat.Tests.Import;

/// <summary>The import tests run one class at a time: each drives real notary processes and databases.</summary>
[CollectionDefinition(Name)]
public sealed class NotaryImportCollection
{
    public const string Name = "notary import";
}

/// <summary>A real notary-server + notary-signer 0.7.0 on MariaDB populated with every scenario (hundreds of versions).</summary>
public sealed class MariaDbDeploymentFixture : IAsyncLifetime
{
    public ReferenceNotaryDeployment Notary { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(ReferenceNotaryDeployment.SignerPassphraseVariable, ReferenceNotaryDeployment.SignerPassphrase);
        Notary = await ReferenceNotaryDeployment.StartAsync(new ReferenceNotaryDeploymentOptions { Provider = TestProvider.MySql, ManyVersionsCount = 200 });
    }

    public async Task DisposeAsync() => await Notary.DisposeAsync();
}

/// <summary>
/// Harbor/Docker-compose style notary on MariaDB (issue 14): <c>import notary-signer-keys</c> and <c>import notary-db</c>
/// with <c>--provider mysql</c> into the embedded default (SQLite, keys in the embedded key store); then every URL is
/// byte-identical and the owners' and the delegate's trust directories carry on, signed by the imported keys.
/// </summary>
[Collection(NotaryImportCollection.Name)]
public sealed class MariaDbImportTests(MariaDbDeploymentFixture fixture) : IClassFixture<MariaDbDeploymentFixture>, IDisposable
{
    private readonly TemporaryDirectory _directory = new("mariadb-import");

    [Fact]
    public async Task ImportKeysAndData_FromMariaDb_IntoEmbeddedDefault_ByteIdentical_ClientsContinue()
    {
        var notary = fixture.Notary;
        string[] destination =
        [
            "--Storage:Provider=Sqlite", $"--ConnectionStrings:Metadata=Data Source={_directory.Combine("data", "trustserver.db")}",
            $"--ConnectionStrings:Keys=Data Source={_directory.Combine("data", "keys.db")}",
            $"--Signing:PassphraseAlias={ReferenceNotaryDeployment.SignerAlias}", $"--Signing:PassphraseFile={_directory.Combine("data", "passphrase")}",
        ];

        var keys = await NotaryDeploymentFixture.RunImportAsync(["notary-signer-keys", "--from", notary.SignerDatabaseConnectionString, "--provider", "mysql", .. destination]);
        Assert.True(keys.ExitCode == 0, keys.Output + keys.Error);
        Assert.Contains("0 conflicts, 0 not usable", keys.Output, StringComparison.Ordinal);
        var again = await NotaryDeploymentFixture.RunImportAsync(["notary-signer-keys", "--from", notary.SignerDatabaseConnectionString, "--provider", "mysql", .. destination]);
        Assert.True(again.ExitCode == 0, again.Output + again.Error);
        Assert.Contains(": 0 added", again.Output, StringComparison.Ordinal);

        var report = _directory.Combine("report.json");
        var data = await NotaryDeploymentFixture.RunImportAsync(["notary-db", "--from", notary.ServerDatabaseConnectionString, "--provider", "mysql", "--batch", "100", "--report", report, .. destination]);
        Assert.True(data.ExitCode == 0, data.Output + data.Error);
        using (var json = JsonDocument.Parse(await File.ReadAllTextAsync(report)))
        {
            Assert.All(json.RootElement.GetProperty("guns").EnumerateArray(), g => Assert.True(g.GetProperty("status").GetString() == "Ok", g.ToString()));
            Assert.True(json.RootElement.GetProperty("rows").GetInt64() > 600);
        }

        await using var server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("data", "trustserver.db")),
            [
                new("ConnectionStrings:Keys", $"Data Source={_directory.Combine("data", "keys.db")}"),
                new("Signing:PassphraseAlias", ReferenceNotaryDeployment.SignerAlias),
            ]);
        using var original = new HttpClient { BaseAddress = new Uri(notary.ServerUrl) };

        // By version for every version of every role, current files, and the changefeed.
        foreach (var repository in notary.Repositories)
        {
            foreach (var role in new[] { "root", "targets", "snapshot", "timestamp" })
            {
                await AssertSameAsync(original, server.Http, $"/v2/{repository.Gun}/_trust/tuf/{role}.json");
                for (var version = 1; ; version++)
                {
                    if (!await AssertSameAsync(original, server.Http, $"/v2/{repository.Gun}/_trust/tuf/{version}.{role}.json"))
                    {
                        break;
                    }
                }
            }
        }

        Assert.Equal(await FeedAsync(original), await FeedAsync(server.Http));

        // The trust directories made against notary-server carry on; the server signs with the imported keys.
        var url = server.Url;
        var payload = _directory.Combine("payload.txt");
        await File.WriteAllTextAsync(payload, "after the import\n");
        foreach (var repository in notary.Repositories)
        {
            var listed = (await repository.Client.RunCheckedAsync(["-s", url, "list", repository.Gun])).StandardOutput;
            Assert.All(repository.Targets.Keys, t => Assert.Contains(t, listed, StringComparison.Ordinal));
            await repository.Client.RunCheckedAsync(["-s", url, "add", repository.Gun, "after-import", payload, "-p"]);
        }

        var delegations = notary.Repository(NotaryScenario.Delegations);
        await delegations.DelegateClient!.RunCheckedAsync(["-s", url, "add", delegations.Gun, $"{delegations.DelegationPath}after-import", payload, "--roles", delegations.DelegationRole!, "-p"]);
        var rotated = notary.Repository(NotaryScenario.RotatedRoot);
        await rotated.Client.RunCheckedAsync(["-s", url, "key", "rotate", rotated.Gun, "timestamp", "-r"]);
        await rotated.Client.RunCheckedAsync(["-s", url, "add", rotated.Gun, "after-rotate", payload, "-p"]);

        using var fresh = server.NewClient();
        Assert.Contains($"{delegations.DelegationPath}after-import", (await fresh.RunCheckedAsync(["list", delegations.Gun])).StandardOutput, StringComparison.Ordinal);
        Assert.Contains("after-rotate", (await fresh.RunCheckedAsync(["list", rotated.Gun])).StandardOutput, StringComparison.Ordinal);
    }

    private static async Task<bool> AssertSameAsync(HttpClient original, HttpClient ours, string path)
    {
        using var theirs = await original.GetAsync(path);
        using var mine = await ours.GetAsync(path);
        Assert.True(theirs.StatusCode == mine.StatusCode, $"{path}: notary-server {theirs.StatusCode}, TrustServer {mine.StatusCode}");
        var theirBytes = await theirs.Content.ReadAsByteArrayAsync();
        var myBytes = await mine.Content.ReadAsByteArrayAsync();
        Assert.True(theirBytes.AsSpan().SequenceEqual(myBytes), $"{path}: bytes differ");
        return theirs.IsSuccessStatusCode;
    }

    private static async Task<List<string>> FeedAsync(HttpClient http)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync("/v2/_trust/changefeed?change_id=0&records=10000"));
        return document.RootElement.GetProperty("records").EnumerateArray()
            .Select(r => $"{r.GetProperty("ID").GetString()} {r.GetProperty("GUN").GetString()} {r.GetProperty("Version").GetInt64()} {r.GetProperty("SHA256").GetString()!.Trim()} {r.GetProperty("Category").GetString()}")
            .ToList();
    }

    public void Dispose() => _directory.Dispose();
}
