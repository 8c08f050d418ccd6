using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// HTTPS from one setting (<c>DevelopmentTls:Enabled</c>) with the real server process in Production and the real
/// notary client: the generated CA is what the client trusts (<c>--tlscacert</c>), a restart reuses the files, keys
/// are private, and stdout is JSON lines from the first line (the banner included).
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class DevelopmentTlsTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly TemporaryDirectory _directory = new("trustserver-devtls");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task NotaryClient_OverGeneratedHttps_InitPublishList_RestartReusesCertificate_LogsAreJsonWithPrincipalAndRole()
    {
        const string gun = "example.com/devtls/app";
        var tlsDirectory = _directory.Combine("data", "tls");
        var ca = Path.Combine(tlsDirectory, "ca.crt");
        var payload = _directory.Combine("hello.txt");
        await File.WriteAllTextAsync(payload, "hello over https\n");
        using var notary = new NotaryCli(new NotaryCliOptions { ServerUrl = "https://127.0.0.1:1" });

        Dictionary<string, string> firstFiles;
        using (var server = Start())
        {
            var url = await server.WaitForJsonListeningAsync(StartTimeout);
            Assert.StartsWith("https://127.0.0.1:", url, StringComparison.Ordinal);
            var tls = await WaitForEventAsync(server, 1621);
            Assert.Equal("CA and server certificate", tls.GetProperty("Generated").GetString());
            Assert.Equal(ca, tls.GetProperty("CaFile").GetString());

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(tlsDirectory));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tlsDirectory, "ca.key")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tlsDirectory, "server.key")));

            // Without the CA the client refuses the server's certificate: TLS is verified for real.
            var untrusted = await notary.RunAsync(["-s", url, "init", "example.com/devtls/untrusted", "--publish"]);
            Assert.False(untrusted.Succeeded, untrusted.ToString());

            await notary.RunCheckedAsync(["-s", url, "--tlscacert", ca, "init", gun, "--publish"]);
            await notary.RunCheckedAsync(["-s", url, "--tlscacert", ca, "add", gun, "v1", payload, "--publish"]);
            var list = await notary.RunCheckedAsync(["-s", url, "--tlscacert", ca, "list", gun]);
            Assert.Contains("v1", list.StandardOutput, StringComparison.Ordinal);

            var published = await WaitForEventAsync(server, 1003);
            Assert.Equal("anonymous", published.GetProperty("Principal").GetString());
            Assert.Equal(gun, published.GetProperty("Gun").GetString());
            var getTimestamp = await WaitForRequestLineAsync(server, "GetRole", "timestamp");
            Assert.Equal(gun, getTimestamp.GetProperty("Gun").GetString());
            AssertJsonLines(server);
            firstFiles = Hashes(tlsDirectory);
        }

        using (var server = Start())
        {
            var url = await server.WaitForJsonListeningAsync(StartTimeout);
            var tls = await WaitForEventAsync(server, 1621);
            Assert.Equal("nothing", tls.GetProperty("Generated").GetString());
            Assert.Equal(firstFiles, Hashes(tlsDirectory));

            var list = await notary.RunCheckedAsync(["-s", url, "--tlscacert", ca, "list", gun]);
            Assert.Contains("v1", list.StandardOutput, StringComparison.Ordinal);
            await notary.RunCheckedAsync(["-s", url, "--tlscacert", ca, "delete", gun, "--remote"]);

            var deleted = await WaitForEventAsync(server, 1104);
            Assert.Equal("anonymous", deleted.GetProperty("Principal").GetString());
            Assert.Equal(gun, deleted.GetProperty("Gun").GetString());
            AssertJsonLines(server);
        }
    }

    private ServerProcess Start() => ServerProcess.Start(
        _directory.Path,
        "Production",
        "--urls=https://127.0.0.1:0",
        "--DevelopmentTls:Enabled=true",
        $"--ConnectionStrings:Metadata=Data Source={_directory.Combine("trustserver.db")}",
        $"--Signing:PassphraseFile={_directory.Combine("signing-passphrase")}");

    // Every stdout line, from the first, is one JSON object, and no line carries a property twice in different case.
    private static void AssertJsonLines(ServerProcess server)
    {
        var lines = server.OutputLines;
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            JsonDocument json;
            try
            {
                json = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new Xunit.Sdk.XunitException($"stdout line is not JSON ({e.Message}): {line}\n{server.Describe()}");
            }

            using (json)
            {
                Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
                var names = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
                Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
            }
        }

        Assert.Contains(lines, l => l.Contains("\"Id\":1620", StringComparison.Ordinal));
    }

    private static async Task<JsonElement> WaitForEventAsync(ServerProcess server, int eventId)
    {
        var line = await server.WaitForLineAsync(l => l.Contains($"\"EventId\":{{\"Id\":{eventId},", StringComparison.Ordinal), StartTimeout);
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    private static async Task<JsonElement> WaitForRequestLineAsync(ServerProcess server, string route, string role)
    {
        var line = await server.WaitForLineAsync(
            l => l.StartsWith("{", StringComparison.Ordinal) && l.Contains($"\"Route\":\"{route}\"", StringComparison.Ordinal) && l.Contains($"\"Role\":\"{role}\"", StringComparison.Ordinal),
            StartTimeout);
        var json = JsonDocument.Parse(line).RootElement.Clone();
        Assert.Equal("GET", json.GetProperty("RequestMethod").GetString());
        Assert.Equal(200, json.GetProperty("StatusCode").GetInt32());
        return json;
    }

    private static Dictionary<string, string> Hashes(string directory) =>
        Directory.GetFiles(directory).ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
