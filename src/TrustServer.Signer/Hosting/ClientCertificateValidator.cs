using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustServer.Signer.Hosting;

/// <summary>
/// Validates a TLS client certificate against exactly the configured CA bundle (notary-signer's
/// <c>client_ca_file</c>, Go's RequireAndVerifyClientCert): custom root trust, validity at the injected clock,
/// the clientAuth extended key usage when the certificate restricts its usages, no revocation checks.
/// </summary>
internal sealed partial class ClientCertificateValidator(X509Certificate2Collection roots, TimeProvider time, ILogger<ClientCertificateValidator> logger)
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    public bool Validate(X509Certificate2 certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(roots);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.VerificationTime = time.GetUtcNow().UtcDateTime;
        policy.ApplicationPolicy.Add(new Oid(ClientAuthOid));

        // Intermediates the client sent with its certificate (never trusted by themselves).
        if (presented is not null)
        {
            policy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (var element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                {
                    policy.ExtraStore.Add(element.Certificate);
                }
            }
        }

        if (chain.Build(certificate))
        {
            return true;
        }

        var problems = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        LogRejected(logger, certificate.Subject, problems);
        return false;
    }

    [LoggerMessage(EventId = 4031, Level = LogLevel.Warning, Message = "Rejected client certificate {Subject}: {Problems}")]
    private static partial void LogRejected(ILogger logger, string subject, string problems);
}
