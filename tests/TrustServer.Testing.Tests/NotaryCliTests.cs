using System.Diagnostics;
using System.Text.Json;
using TrustServer.Testing;

namespace TrustServer.Testing.Tests;

public sealed class NotaryCliTests
{
    [Fact]
    public async Task RunAsync_Version_PrintsNotaryVersion()
    {
        using var notary = new NotaryCli("http://127.0.0.1:1");

        var result = await notary.RunCheckedAsync(["version"]);

        Assert.Contains("notary", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Go version", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_TlsOptions_WritesClientConfig()
    {
        using var notary = new NotaryCli(new NotaryCliOptions
        {
            ServerUrl = "https://127.0.0.1:4443",
            TlsCaCertPath = "/tmp/ca.crt",
            TlsClientCertPath = "/tmp/client.crt",
            TlsClientKeyPath = "/tmp/client.key",
        });

        using var config = JsonDocument.Parse(File.ReadAllText(notary.ConfigFilePath));
        var remote = config.RootElement.GetProperty("remote_server");
        Assert.Equal("https://127.0.0.1:4443", remote.GetProperty("url").GetString());
        Assert.Equal("/tmp/ca.crt", remote.GetProperty("root_ca").GetString());
        Assert.Equal("/tmp/client.crt", remote.GetProperty("tls_client_cert").GetString());
        Assert.Equal("/tmp/client.key", remote.GetProperty("tls_client_key").GetString());
        Assert.Equal(notary.TrustDirectory, config.RootElement.GetProperty("trust_dir").GetString());
    }

    [Fact]
    public void Dispose_Always_DeletesTrustDirectory()
    {
        var notary = new NotaryCli("http://127.0.0.1:1");
        Assert.True(Directory.Exists(notary.TrustDirectory));

        notary.Dispose();

        Assert.False(Directory.Exists(notary.TrustDirectory));
        Assert.False(File.Exists(notary.ConfigFilePath));
    }

    [Fact]
    public void Passphrases_Default_AreSetAndOverridable()
    {
        using var notary = new NotaryCli("http://127.0.0.1:1");
        Assert.Equal(NotaryCli.DefaultPassphrase, notary.EnvironmentVariables["NOTARY_ROOT_PASSPHRASE"]);
        Assert.Null(notary.EnvironmentVariables["NOTARY_AUTH"]);

        notary.SetPassphrase("other");
        notary.SetBasicAuth("user", "secret");

        Assert.Equal("other", notary.EnvironmentVariables["NOTARY_DELEGATION_PASSPHRASE"]);
        Assert.Equal("dXNlcjpzZWNyZXQ=", notary.EnvironmentVariables["NOTARY_AUTH"]);
    }

    [Fact]
    public async Task RunAsync_UnreachableServer_ReportsFailureWithOutput()
    {
        using var notary = new NotaryCli($"http://127.0.0.1:{TestPorts.GetFreeTcpPort()}");

        var result = await notary.RunAsync(["list", "example.com/test/repo"]);

        Assert.False(result.Succeeded);
        var failure = Assert.Throws<ProcessFailedException>(() => result.EnsureSuccess());
        Assert.Contains("list example.com/test/repo", failure.Message, StringComparison.Ordinal);
        Assert.Contains(result.StandardError.Trim(), failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessRunner_CommandExceedsTimeout_KillsTreeAndReportsTimeout()
    {
        var stopwatch = Stopwatch.StartNew();

        // A child of the shell keeps running too: the whole tree must go, and the call must not wait for it.
        var result = await ProcessRunner.RunAsync("/bin/sh", ["-c", "sleep 30 & sleep 30"], TimeSpan.FromMilliseconds(500));

        Assert.True(result.TimedOut);
        Assert.False(result.Succeeded);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Contains("TIMED OUT", Assert.Throws<ProcessFailedException>(() => result.EnsureSuccess()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessRunner_Stdin_IsPassedToProcess()
    {
        var result = await ProcessRunner.RunAsync("/bin/cat", [], TimeSpan.FromSeconds(10), standardInput: "yes\n");

        Assert.Equal("yes\n", result.EnsureSuccess().StandardOutput);
    }
}
