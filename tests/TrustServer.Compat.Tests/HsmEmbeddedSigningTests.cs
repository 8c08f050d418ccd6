using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using TrustServer.Compat.Tests.Support;
using TrustServer.Server;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// Issue 18 in the server's embedded signing mode (SQLite, this test process's SoftHSM2 token), driven by the real
/// notary client: a repository created with JWE keys keeps working after the switch to <c>Keys:Backend = Pkcs11</c>
/// and moves its timestamp key into the token by <c>key rotate … -r</c>; a new repository's server keys are all token
/// keys; a restart keeps them; parallel publishes; a wrong PIN stops the server's start with one line.
/// </summary>
public sealed class HsmEmbeddedSigningTests : IDisposable
{
    private readonly TemporaryDirectory _directory = new("hsm-embedded");

    // One address across restarts, so that one notary client (one trust directory) follows the server.
    private readonly int _port = TestPorts.GetFreeTcpPort();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task JweRepositoryKeepsWorking_NewRepositoryInToken_FullClientFlow_RestartKeepsKeys()
    {
        var token = await SoftHsm.TokenAsync();
        var payload = _directory.Combine("payload.txt");
        await File.WriteAllTextAsync(payload, "embedded hsm\n");
        const string old = "example.com/hsm/created-with-jwe";
        const string fresh = "example.com/hsm/created-with-token";
        using var c = new NotaryCli($"http://127.0.0.1:{_port}");

        // Before: the database backend.
        string oldTimestampKey;
        await using (var server = await StartAsync(null))
        {
            await c.RunCheckedAsync(["init", old, "--publish"]);
            oldTimestampKey = await TimestampKeyAsync(server, old);
        }

        Assert.Equal("private_keys", await TableOfAsync(oldTimestampKey));

        await using (var server = await StartAsync(token))
        {
            // The JWE key keeps signing the old repository.
            await c.RunCheckedAsync(["add", old, "v1", payload, "-p"]);
            Assert.Equal([oldTimestampKey], await TimestampSignersAsync(server, old));

            // A new repository: every server key from the token, through the full flow.
            using var releases = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var releasesKey = Write("releases.pem", releases.ExportPkcs8PrivateKeyPem() + "\n");
            var releasesPub = Write("releases.pub", releases.ExportSubjectPublicKeyInfoPem() + "\n");
            await c.RunCheckedAsync(["init", fresh, "--publish"]);
            await c.RunCheckedAsync(["add", fresh, "v1", payload, "-p"]);
            await c.RunCheckedAsync(["key", "rotate", fresh, "snapshot", "-r"]);
            await c.RunCheckedAsync(["key", "rotate", fresh, "timestamp", "-r"]);
            await c.RunCheckedAsync(["key", "import", releasesKey, "--role", "targets/releases"]);
            await c.RunCheckedAsync(["delegation", "add", fresh, "targets/releases", releasesPub, "--all-paths", "-p"]);
            await c.RunCheckedAsync(["add", fresh, "v2", payload, "--roles", "targets/releases", "-p"]);
            Assert.Equal("hsm_keys", await TableOfAsync(await TimestampKeyAsync(server, fresh)));
            Assert.Equal("hsm_keys", await TableOfAsync(await SnapshotKeyAsync(server, fresh)));

            // The move of the old repository: rotate its timestamp key, the new one is in the token.
            await c.RunCheckedAsync(["key", "rotate", old, "timestamp", "-r"]);
            await c.RunCheckedAsync(["add", old, "v2", payload, "-p"]);
            var moved = await TimestampKeyAsync(server, old);
            Assert.NotEqual(oldTimestampKey, moved);
            Assert.Equal("hsm_keys", await TableOfAsync(moved));
            Assert.Equal([moved], await TimestampSignersAsync(server, old));
        }

        // A restart keeps the token keys: both repositories publish and read back for a new client.
        await using (var server = await StartAsync(token))
        {
            await c.RunCheckedAsync(["add", old, "v3", payload, "-p"]);
            await c.RunCheckedAsync(["add", fresh, "v3", payload, "-p"]);
            using var reader = server.NewClient();
            Assert.Contains("v3", (await reader.RunCheckedAsync(["list", old])).StandardOutput, StringComparison.Ordinal);
            var list = (await reader.RunCheckedAsync(["list", fresh])).StandardOutput;
            Assert.Contains("v2", list, StringComparison.Ordinal);
            Assert.Contains("v3", list, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task EightParallelPublishes_AllSignedInTheToken()
    {
        await using var server = await StartAsync(await SoftHsm.TokenAsync());
        var payload = Write("parallel.txt", "parallel\n");
        var guns = Enumerable.Range(0, 8).Select(i => $"example.com/hsm/parallel-{i}").ToList();
        var clients = guns.Select(_ => server.NewClient()).ToList();
        try
        {
            await Task.WhenAll(guns.Select((gun, i) => clients[i].RunCheckedAsync(["init", gun, "--publish"])));
            await Task.WhenAll(guns.Select((gun, i) => clients[i].RunCheckedAsync(["add", gun, "v1", payload, "-p"])));
            foreach (var gun in guns)
            {
                Assert.Equal("hsm_keys", await TableOfAsync(await TimestampKeyAsync(server, gun)));
                Assert.Contains("v1", (await clients[0].RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task ServerStart_WrongPin_OneLineAndExitCode1()
    {
        var token = await SoftHsm.TokenAsync();
        var wrongPin = Write("wrong.pin", "87654321\n");
        string[] arguments =
        [
            typeof(TrustServerHost).Assembly.Location,
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Metadata=Data Source={_directory.Combine("metadata.db")}",
            $"--Signing:PassphraseFile={_directory.Combine("passphrase")}",
            .. token.Settings.Select(s => s.Key == "Keys:Pkcs11:PinFile" ? $"--{s.Key}={wrongPin}" : $"--{s.Key}={s.Value}"),
        ];
        var result = await ProcessRunner.RunAsync(
            "dotnet", arguments, TimeSpan.FromSeconds(60), workingDirectory: _directory.Path,
            environment: [new(SoftHsm.ConfigVariable, SoftHsm.ConfigFile)]);

        Assert.False(result.TimedOut, "the server kept running");
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("TrustServer: configuration error: the PKCS#11 token refused the PIN (CKR_PIN_INCORRECT): check Keys:Pkcs11:PinFile or TRUSTSERVER_PKCS11_PIN", line);
    }

    private Task<TrustServerInstance> StartAsync(SoftHsmToken? token) =>
        TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("trustserver.db")),
            [new("urls", $"http://127.0.0.1:{_port}"), .. token?.Settings ?? []],
            passphraseFile: _directory.Combine("signing-passphrase"));

    private string Write(string name, string content)
    {
        var path = _directory.Combine(name);
        File.WriteAllText(path, content);
        return path;
    }

    // Which key table holds the key: private_keys (JWE) or hsm_keys (token), read from the SQLite file itself.
    private async Task<string> TableOfAsync(string keyId)
    {
        await using var connection = new SqliteConnection($"Data Source={_directory.Combine("trustserver.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "select 'private_keys' from private_keys where key_id = $id union all select 'hsm_keys' from hsm_keys where key_id = $id";
        command.Parameters.AddWithValue("$id", keyId);
        return (string)(await command.ExecuteScalarAsync() ?? "none");
    }

    private static async Task<string> TimestampKeyAsync(TrustServerInstance server, string gun) => await RootKeyAsync(server, gun, "timestamp");

    private static async Task<string> SnapshotKeyAsync(TrustServerInstance server, string gun) => await RootKeyAsync(server, gun, "snapshot");

    private static async Task<string> RootKeyAsync(TrustServerInstance server, string gun, string role) =>
        JsonDocument.Parse(await server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/root.json")).RootElement
            .GetProperty("signed").GetProperty("roles").GetProperty(role).GetProperty("keyids")[0].GetString()!;

    private static async Task<List<string>> TimestampSignersAsync(TrustServerInstance server, string gun) =>
        [.. JsonDocument.Parse(await server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.json")).RootElement
            .GetProperty("signatures").EnumerateArray().Select(s => s.GetProperty("keyid").GetString()!)];
}
