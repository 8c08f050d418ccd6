using System.ComponentModel.DataAnnotations;

namespace TrustServer.Server.Options;

/// <summary>Server-managed keys (<c>Signing</c> section).</summary>
public sealed class SigningOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Signing";

    /// <summary><c>Embedded</c> (key store in-process) or <c>Remote</c> (gRPC signer).</summary>
    public string Mode { get; set; } = "Embedded";

    /// <summary>Algorithm of new server-managed keys: <c>ecdsa</c> or <c>ed25519</c> (notary-server's trust_service.key_algorithm).</summary>
    [RegularExpression("^(ecdsa|ed25519)$", ErrorMessage = "Signing:KeyAlgorithm must be ecdsa or ed25519")]
    public string KeyAlgorithm { get; set; } = "ecdsa";

    /// <summary>
    /// Embedded mode: passphrase alias of new keys; the passphrase comes from <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c>. When that
    /// variable is unset, the embedded default keeps a generated passphrase in <see cref="PassphraseFile"/>.
    /// </summary>
    [Required]
    public string PassphraseAlias { get; set; } = "embedded";

    /// <summary>Embedded mode: file holding a generated passphrase, used only when the environment variable is unset (created 0600 on first start).</summary>
    public string? PassphraseFile { get; set; } = "data/signing-passphrase";
}
