using System.ComponentModel.DataAnnotations;

namespace TrustServer.Signer.Options;

/// <summary>
/// Transport security (<c>Tls</c> section). The signer is fail-closed: it listens with TLS 1.2+ and requires client
/// certificates issued by <see cref="ClientCaFile"/>; each relaxation needs its own explicit switch.
/// </summary>
public sealed class SignerTlsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Tls";

    /// <summary>PEM certificate of the signer (the leaf first; further certificates are sent as its chain).</summary>
    public string? CertFile { get; set; }

    /// <summary>PEM private key of <see cref="CertFile"/> (PKCS#8, SEC 1 or PKCS#1).</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// PEM bundle of the CAs whose client certificates are accepted (notary-signer's <c>server.client_ca_file</c>).
    /// Client certificates are then required and validated against exactly this bundle.
    /// </summary>
    public string? ClientCaFile { get; set; }

    /// <summary>
    /// Development only: without <see cref="CertFile"/>/<see cref="KeyFile"/>, listen with plaintext HTTP/2 instead of
    /// refusing to start. Ignored when a certificate is configured.
    /// </summary>
    public bool AllowInsecure { get; set; }

    /// <summary>
    /// Accept TLS clients without a client certificate when <see cref="ClientCaFile"/> is not set (what notary-signer
    /// does without <c>client_ca_file</c>). Off by default: without a client CA the signer refuses to start.
    /// </summary>
    public bool AllowAnyClient { get; set; }

    /// <summary>Whether a server certificate is configured (TLS on).</summary>
    public bool HasCertificate => !string.IsNullOrWhiteSpace(CertFile) && !string.IsNullOrWhiteSpace(KeyFile);
}

/// <summary>The key database (<c>Storage</c> section; the connection string is <c>ConnectionStrings:Keys</c>).</summary>
public sealed class SignerStorageOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Storage";

    /// <summary><c>Sqlite</c> (default) or <c>Postgres</c>.</summary>
    [RegularExpression("^(Sqlite|Postgres)$", ErrorMessage = "Storage:Provider must be Sqlite or Postgres")]
    public string Provider { get; set; } = "Sqlite";

    /// <summary>Apply pending migrations at start (the <c>migrate</c> command does it explicitly).</summary>
    public bool MigrateOnStartup { get; set; } = true;
}

/// <summary>Passphrase aliases (<c>Keys</c> section).</summary>
public sealed class SignerKeysOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Keys";

    /// <summary>The environment variable notary-signer falls back to for the default alias.</summary>
    public const string DefaultAliasVariable = "NOTARY_SIGNER_DEFAULT_ALIAS";

    /// <summary>
    /// Passphrase alias of new keys (notary-signer's <c>storage.default_alias</c>); the passphrase is read from
    /// <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c>. Falls back to the variable <c>NOTARY_SIGNER_DEFAULT_ALIAS</c>. Required.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Keys:DefaultAlias is required (or the environment variable NOTARY_SIGNER_DEFAULT_ALIAS): the passphrase alias that encrypts new keys, whose passphrase is read from NOTARY_SIGNER_<ALIAS>")]
    public string? DefaultAlias { get; set; }
}
