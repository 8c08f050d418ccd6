using System.Security.Cryptography;
using TrustServer.Testing;
using Xunit.Abstractions;

namespace TrustServer.Testing.Tests;

public sealed class ReferenceNotaryServerTests(ReferenceNotaryServerFixture fixture, ITestOutputHelper output)
    : IClassFixture<ReferenceNotaryServerFixture>
{
    [Fact]
    public async Task RealClient_InitAddList_Succeeds()
    {
        const string gun = "example.com/test/repo";
        using var notary = new NotaryCli(fixture.Server.Url);
        using var dir = new TemporaryDirectory("target");
        var file = dir.Combine("payload.txt");
        await File.WriteAllTextAsync(file, "hello from TrustServer tests\n");
        var digest = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(file)));

        await Run(notary, ["init", gun, "--publish"]);
        await Run(notary, ["add", gun, "v1", file, "--publish"]);

        // A second client with an empty trust dir sees the published target, i.e. it came from the server.
        using var other = new NotaryCli(fixture.Server.Url);
        var list = await Run(other, ["list", gun]);
        Assert.Contains("v1", list.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(digest, list.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_AfterStart_Answers200()
    {
        using var client = new HttpClient();

        using var response = await client.GetAsync(new Uri(fixture.Server.Url + "/_notary_server/health"));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("http://127.0.0.1:", fixture.Server.Url, StringComparison.Ordinal);
        Assert.Contains("Starting on 127.0.0.1:", fixture.Server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_WithTlsAndKeyAlgorithm_RealClientPublishesOverHttps()
    {
        using var dir = new TemporaryDirectory("notary-tls");
        using var ca = TestCertificates.CreateCertificateAuthority();
        using var serverCert = TestCertificates.CreateTlsServer(ca);
        var (certPath, keyPath) = serverCert.WriteFiles(dir.Path, "server");
        var caPath = ca.WriteCertificatePem(dir.Combine("root-ca.crt"));

        await using var server = await ReferenceNotaryServer.StartAsync(new ReferenceNotaryServerOptions
        {
            TlsCertFile = certPath,
            TlsKeyFile = keyPath,
            KeyAlgorithm = "ed25519",
        });
        Assert.StartsWith("https://127.0.0.1:", server.Url, StringComparison.Ordinal);
        Assert.Contains("\"key_algorithm\": \"ed25519\"", await File.ReadAllTextAsync(server.ConfigFilePath), StringComparison.Ordinal);

        using var notary = new NotaryCli(server.Url, caPath);
        await Run(notary, ["init", "example.com/test/tls", "--publish"]);
        var list = await Run(notary, ["list", "example.com/test/tls"]);
        Assert.Contains("No targets present", list.StandardOutput + list.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_InvalidConfig_ThrowsWithServerLog()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ReferenceNotaryServer.StartAsync(new ReferenceNotaryServerOptions { StorageBackend = "no-such-backend" }));

        Assert.Contains("exited with code", failure.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-backend", failure.Message, StringComparison.Ordinal);
    }

    private async Task<ProcessResult> Run(NotaryCli notary, string[] arguments)
    {
        var result = await notary.RunAsync(arguments);
        output.WriteLine(result.ToString());
        if (!result.Succeeded)
        {
            output.WriteLine("--- notary-server log ---\n" + fixture.Server.Log);
        }

        return result.EnsureSuccess();
    }
}
