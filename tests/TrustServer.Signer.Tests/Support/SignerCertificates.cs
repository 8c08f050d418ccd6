using System.Security.Cryptography.X509Certificates;
using TrustServer.Testing;

namespace TrustServer.Signer.Tests.Support;

/// <summary>
/// A test CA with the signer's server certificate (SANs localhost, 127.0.0.1) and client certificates: a good one,
/// one from another CA and an expired one, all written as PEM files.
/// </summary>
public sealed class SignerCertificates : IDisposable
{
    private readonly TemporaryDirectory _directory = new("signer-certs");
    private readonly TestCertificate _otherCa;

    public SignerCertificates()
    {
        Ca = TestCertificates.CreateCertificateAuthority("Signer Test CA");
        Server = TestCertificates.CreateTlsServer(Ca);
        Client = TestCertificates.CreateTlsClient(Ca, "notary-server");
        _otherCa = TestCertificates.CreateCertificateAuthority("Some Other CA");
        ForeignClient = TestCertificates.CreateTlsClient(_otherCa, "intruder");
        var now = DateTimeOffset.UtcNow;
        ExpiredClient = TestCertificates.Create(
            new TestCertificateOptions
            {
                CommonName = "expired-client",
                NotBefore = now.AddDays(-10),
                NotAfter = now.AddDays(-1),
                ExtendedKeyUsages = [ExtendedKeyUsageOids.ClientAuth],
            },
            Ca);
        CaFile = Ca.WriteCertificatePem(_directory.Combine("ca.pem"));
        (ServerCertFile, ServerKeyFile) = Server.WriteFiles(_directory.Path, "signer");
        (ClientCertFile, ClientKeyFile) = Client.WriteFiles(_directory.Path, "client");
    }

    public TestCertificate Ca { get; }

    public TestCertificate Server { get; }

    public TestCertificate Client { get; }

    public TestCertificate ForeignClient { get; }

    public TestCertificate ExpiredClient { get; }

    public string CaFile { get; }

    public string ServerCertFile { get; }

    public string ServerKeyFile { get; }

    public string ClientCertFile { get; }

    public string ClientKeyFile { get; }

    /// <summary>The signer's TLS settings: certificate, key and client CA.</summary>
    public IEnumerable<KeyValuePair<string, string?>> TlsSettings =>
    [
        new("Tls:CertFile", ServerCertFile),
        new("Tls:KeyFile", ServerKeyFile),
        new("Tls:ClientCaFile", CaFile),
    ];

    /// <summary>Validates a server certificate against the test CA only, host name included.</summary>
    public bool ValidateServer(X509Certificate2 certificate, bool nameMismatch)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return !nameMismatch && chain.Build(certificate);
    }

    public void Dispose()
    {
        foreach (var certificate in new[] { Server, Client, ForeignClient, ExpiredClient, Ca, _otherCa })
        {
            certificate.Dispose();
        }

        _directory.Dispose();
    }
}
