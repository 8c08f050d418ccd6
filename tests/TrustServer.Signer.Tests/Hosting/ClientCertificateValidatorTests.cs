using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using TrustServer.Signer.Hosting;
using TrustServer.Signer.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Signer.Tests.Hosting;

/// <summary>The chain rules themselves, at a chosen time (the TLS tests show the wiring).</summary>
public sealed class ClientCertificateValidatorTests : IDisposable
{
    private readonly SignerCertificates _certificates = new();

    [Fact]
    public void Validate_ClientOfConfiguredCa_IsAccepted() =>
        Assert.True(Validator(DateTimeOffset.UtcNow).Validate(_certificates.Client.Certificate, null));

    [Fact]
    public void Validate_ClientOfAnotherCa_IsRejected() =>
        Assert.False(Validator(DateTimeOffset.UtcNow).Validate(_certificates.ForeignClient.Certificate, null));

    [Fact]
    public void Validate_ExpiredClient_IsRejected() =>
        Assert.False(Validator(DateTimeOffset.UtcNow).Validate(_certificates.ExpiredClient.Certificate, null));

    [Fact]
    public void Validate_UsesInjectedClock()
    {
        Assert.False(Validator(DateTimeOffset.UtcNow.AddYears(2)).Validate(_certificates.Client.Certificate, null));
        Assert.False(Validator(DateTimeOffset.UtcNow.AddHours(-2)).Validate(_certificates.Client.Certificate, null)); // not yet valid
        Assert.True(Validator(DateTimeOffset.UtcNow.AddDays(30)).Validate(_certificates.Client.Certificate, null));
    }

    [Fact]
    public void Validate_ServerOnlyCertificateOfConfiguredCa_IsRejected() =>
        Assert.False(Validator(DateTimeOffset.UtcNow).Validate(_certificates.Server.Certificate, null));

    [Fact]
    public void Validate_ClientOfIntermediate_IsAcceptedWithPresentedIntermediate()
    {
        using var intermediate = TestCertificates.CreateIntermediate(_certificates.Ca);
        using var client = TestCertificates.CreateTlsClient(intermediate);
        using var presented = new X509Chain();
        presented.ChainPolicy.ExtraStore.Add(intermediate.Certificate);
        Assert.True(Validator(DateTimeOffset.UtcNow).Validate(client.Certificate, presented));
        Assert.False(Validator(DateTimeOffset.UtcNow).Validate(client.Certificate, null));
    }

    public void Dispose() => _certificates.Dispose();

    private ClientCertificateValidator Validator(DateTimeOffset now) =>
        new([_certificates.Ca.Certificate], new FixedTime(now), NullLogger<ClientCertificateValidator>.Instance);

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
