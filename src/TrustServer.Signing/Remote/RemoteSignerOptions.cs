namespace TrustServer.Signing.Remote;

/// <summary>
/// How the server reaches a signer (ours or the real notary-signer) over gRPC: <c>Signing:Remote:*</c>
/// (DESIGN.md §6). TLS material is loaded at start; anything missing or unreadable fails the start (fail closed).
/// </summary>
public sealed class RemoteSignerOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Signing:Remote";

    /// <summary>The signer's address, e.g. <c>https://notarysigner:7899</c>; the certificate must name its host.</summary>
    public string Url { get; set; } = string.Empty;

    /// <summary>PEM bundle of the CA(s) that issued the signer's certificate; the system roots are not used when set.</summary>
    public string? CaFile { get; set; }

    /// <summary>PEM client certificate for mutual TLS (with <see cref="ClientKeyFile"/>).</summary>
    public string? ClientCertFile { get; set; }

    /// <summary>PEM private key of <see cref="ClientCertFile"/>.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>Deadline of each call (notary-server has none; a hung signer must not hang requests).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per call when the signer is unavailable (transient failures only).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Development only: allow an <c>http://</c> URL (no TLS at all).</summary>
    public bool AllowInsecure { get; set; }
}
