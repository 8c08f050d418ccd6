using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.Options;
using TrustServer.Signer.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Signer.Tests.Hosting;

/// <summary>Mutual TLS and the fail-closed start (spec signer.md §1; issue 4 "must show").</summary>
public sealed class TransportSecurityTests(PostgresSignerFixture fixture) : IClassFixture<PostgresSignerFixture>
{
    [Fact]
    public async Task Client_WithCertificateFromConfiguredCa_IsServed()
    {
        var response = await new Health.HealthClient(fixture.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public Task Client_WithoutCertificate_IsRefused() => AssertRefusedAsync(null);

    [Fact]
    public Task Client_WithCertificateFromAnotherCa_IsRefused() => AssertRefusedAsync(fixture.Certificates.ForeignClient);

    [Fact]
    public Task Client_WithExpiredCertificate_IsRefused() => AssertRefusedAsync(fixture.Certificates.ExpiredClient);

    [Fact]
    public async Task Start_WithoutTlsMaterial_RefusesWithClearMessage()
    {
        using var directory = new TemporaryDirectory("signer-notls");
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
            await SignerInstance.StartAsync(SqliteSettings(directory)));
        Assert.Contains("requires TLS", error.Message, StringComparison.Ordinal);
        Assert.Contains("Tls:CertFile", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WithoutTlsMaterial_ExitsWithClearMessage()
    {
        using var directory = new TemporaryDirectory("signer-notls-run");
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await SignerHost.RunAsync(
            ["--urls", "https://127.0.0.1:0", .. SqliteSettings(directory).Select(s => $"--{s.Key}={s.Value}")], output, error);
        Assert.Equal(1, exitCode);
        Assert.Contains("The signer requires TLS and refuses to start without it", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithoutClientCa_RefusesUnlessAllowAnyClient()
    {
        using var directory = new TemporaryDirectory("signer-noca");
        IEnumerable<KeyValuePair<string, string?>> settings =
        [
            .. SqliteSettings(directory),
            new("Tls:CertFile", fixture.Certificates.ServerCertFile),
            new("Tls:KeyFile", fixture.Certificates.ServerKeyFile),
        ];
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () => await SignerInstance.StartAsync(settings));
        Assert.Contains("Tls:ClientCaFile is not set", error.Message, StringComparison.Ordinal);

        await using var signer = await SignerInstance.StartAsync([.. settings, new("Tls:AllowAnyClient", "true")]);
        using var channel = SignerChannels.Create(signer.Url, fixture.Certificates, clientCertificate: null);
        var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = "grpc.health.v1.Health.Signer" });
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Start_WithPlaintextUrlAndCertificate_Refuses()
    {
        using var directory = new TemporaryDirectory("signer-http");
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
            await SignerInstance.StartAsync([.. SqliteSettings(directory), .. fixture.Certificates.TlsSettings], scheme: "http"));
        Assert.Contains("only serves TLS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithAllowInsecure_ServesPlaintextHttp2()
    {
        using var directory = new TemporaryDirectory("signer-insecure");
        await using var signer = await SignerInstance.StartAsync([.. SqliteSettings(directory), new("Tls:AllowInsecure", "true")], scheme: "http");
        Assert.StartsWith("http://", signer.Url, StringComparison.Ordinal);
        using var channel = SignerChannels.CreatePlaintext(signer.Url);
        var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = "grpc.health.v1.Health.KeyManagement" });
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    private async Task AssertRefusedAsync(TestCertificate? clientCertificate)
    {
        using var channel = SignerChannels.Create(fixture.Signer.Url, fixture.Certificates, clientCertificate);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: timeout.Token));
        Assert.NotEqual(StatusCode.Cancelled, error.StatusCode);
        Assert.NotEqual(StatusCode.OK, error.StatusCode);
    }

    private static List<KeyValuePair<string, string?>> SqliteSettings(TemporaryDirectory directory) =>
    [
        new("Storage:Provider", "Sqlite"),
        new("ConnectionStrings:Keys", $"Data Source={directory.Combine("signer.db")};Pooling=False"),
        new("Keys:DefaultAlias", TestPassphrases.Alias),
    ];
}
