using System.Security.Cryptography;
using Npgsql;
using TrustServer.Signer.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Signer.Tests.Compat;

/// <summary>
/// Issue 18: the real notary-server 0.7.0 (trust_service remote, mutual TLS) uses our signer with every server key in
/// a SoftHSM2 token (<c>Keys:Backend = Pkcs11</c>), driven by the real notary client; and the signer process refuses
/// to start, with one line, when the module, the token or the PIN is wrong.
/// </summary>
public sealed class HsmSignerTests(Pkcs11SignerFixture fixture) : IClassFixture<Pkcs11SignerFixture>
{
    [Fact]
    public async Task RealNotaryServer_FullClientFlow_EveryServerKeyInTheToken()
    {
        await using var server = await ReferenceNotaryServer.StartAsync(new ReferenceNotaryServerOptions
        {
            TrustServiceType = "remote",
            KeyAlgorithm = "ecdsa",
            TrustServiceHostname = "localhost",
            TrustServicePort = fixture.Signer.Port,
            TrustServiceTlsCaFile = fixture.Certificates.CaFile,
            TrustServiceTlsClientCert = fixture.Certificates.ClientCertFile,
            TrustServiceTlsClientKey = fixture.Certificates.ClientKeyFile,
        });
        const string gun = "docker.io/hsm-signer/app";
        using var work = new TemporaryDirectory("hsm-signer");
        var target = work.Combine("hello.txt");
        await File.WriteAllTextAsync(target, "signed in the token\n");
        using var delegate_ = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var delegateKey = work.Combine("releases.pem");
        var delegatePub = work.Combine("releases.pub");
        await File.WriteAllTextAsync(delegateKey, delegate_.ExportPkcs8PrivateKeyPem() + "\n");
        await File.WriteAllTextAsync(delegatePub, delegate_.ExportSubjectPublicKeyInfoPem() + "\n");

        using var client = new NotaryCli(server.Url);
        await RunAsync(client, server, ["init", gun, "--publish"]);
        await RunAsync(client, server, ["add", gun, "v1", target, "-p"]);
        await RunAsync(client, server, ["key", "rotate", gun, "snapshot", "-r"]);
        await RunAsync(client, server, ["key", "rotate", gun, "timestamp", "-r"]);
        await RunAsync(client, server, ["key", "import", delegateKey, "--role", "targets/releases"]);
        await RunAsync(client, server, ["delegation", "add", gun, "targets/releases", delegatePub, "--all-paths", "-p"]);
        await RunAsync(client, server, ["add", gun, "v2", target, "--roles", "targets/releases", "-p"]);

        using var other = new NotaryCli(server.Url);
        var list = (await RunAsync(other, server, ["list", gun])).StandardOutput;
        Assert.Contains("v1", list, StringComparison.Ordinal);
        Assert.Contains("v2", list, StringComparison.Ordinal);
        Assert.Contains("targets/releases", (await RunAsync(other, server, ["delegation", "list", gun])).StandardOutput, StringComparison.Ordinal);

        // Every server key is a token key: two timestamp keys and one snapshot key, all used; no JWE row for the GUN.
        var keys = await ReadTokenKeysAsync(gun);
        Assert.Equal(2, keys.Count(k => k.Role == "timestamp" && k.Algorithm == "ecdsa"));
        Assert.Equal(1, keys.Count(k => k.Role == "snapshot" && k.Algorithm == "ecdsa"));
        Assert.All(keys, k => Assert.True(k.Used, $"key {k.Role} never signed"));
        Assert.Equal(0, await fixture.QueryScalarAsync($"select count(*) from private_keys where gun = '{gun}'"));
    }

    [Fact]
    public async Task Start_WrongModuleTokenOrPin_OneLineAndExitCode1()
    {
        var token = await SoftHsm.TokenAsync();
        using var directory = new TemporaryDirectory("hsm-signer-start");
        var wrongPin = directory.Combine("wrong.pin");
        await File.WriteAllTextAsync(wrongPin, "12345678\n");

        Assert.Contains(
            "the PKCS#11 module /nonexistent/libpkcs11.so (Keys:Pkcs11:Library) does not exist",
            await StartFailureAsync(directory, token, ("Keys:Pkcs11:Library", "/nonexistent/libpkcs11.so")),
            StringComparison.Ordinal);
        Assert.Contains(
            "no token labelled 'absent-token' (Keys:Pkcs11:TokenLabel)",
            await StartFailureAsync(directory, token, ("Keys:Pkcs11:TokenLabel", "absent-token")),
            StringComparison.Ordinal);
        var pin = await StartFailureAsync(directory, token, ("Keys:Pkcs11:PinFile", wrongPin));
        Assert.Contains("the PKCS#11 token refused the PIN (CKR_PIN_INCORRECT)", pin, StringComparison.Ordinal);
        Assert.DoesNotContain("12345678", pin, StringComparison.Ordinal);
        Assert.Contains(
            "Keys:Pkcs11:Library (the PKCS#11 module's path) is required when Keys:Backend is Pkcs11",
            await StartFailureAsync(directory, token, ("Keys:Pkcs11:Library", "")),
            StringComparison.Ordinal);
    }

    // The signer process with the token's settings, one replaced: returns its single line on standard error.
    private async Task<string> StartFailureAsync(TemporaryDirectory directory, SoftHsmToken token, (string Key, string Value) replaced)
    {
        var settings = token.Settings.Select(s => s.Key == replaced.Key ? new(s.Key, replaced.Value) : s);
        string[] arguments =
        [
            typeof(SignerHost).Assembly.Location,
            "--urls=https://127.0.0.1:0",
            .. fixture.Certificates.TlsSettings.Select(s => $"--{s.Key}={s.Value}"),
            "--Storage:Provider=Sqlite",
            $"--ConnectionStrings:Keys=Data Source={directory.Combine("signer.db")}",
            $"--Keys:DefaultAlias={TestPassphrases.Alias}",
            .. settings.Select(s => $"--{s.Key}={s.Value}"),
        ];
        var result = await ProcessRunner.RunAsync(
            "dotnet", arguments, TimeSpan.FromSeconds(60), workingDirectory: directory.Path,
            environment: [new(SoftHsm.ConfigVariable, SoftHsm.ConfigFile)]);
        Assert.False(result.TimedOut, "the signer kept running");
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("TrustServer signer: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Pin, result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        return line;
    }

    private static async Task<ProcessResult> RunAsync(NotaryCli client, ReferenceNotaryServer server, string[] arguments)
    {
        var result = await client.RunAsync(arguments);
        Assert.True(result.Succeeded, $"notary {string.Join(' ', arguments)} failed:\n{result}\n--- notary-server log (tail) ---\n{(server.Log.Length <= 4000 ? server.Log : server.Log[^4000..])}");
        return result;
    }

    private async Task<List<(string Role, string Algorithm, bool Used)>> ReadTokenKeysAsync(string gun)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select role, algorithm, last_used is not null from hsm_keys where gun = @gun and deleted_at is null", connection);
        command.Parameters.AddWithValue("gun", gun);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new List<(string, string, bool)>();
        while (await reader.ReadAsync())
        {
            keys.Add((reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)));
        }

        return keys;
    }
}
