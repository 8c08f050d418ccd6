namespace TrustServer.Server.Auth;

/// <summary>Whether requests are authenticated (<c>Auth</c> section, DESIGN.md §6).</summary>
public sealed class AuthOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Auth";

    /// <summary><c>None</c> (default: every route open, as notary-server without <c>auth</c>) or <c>Token</c>.</summary>
    public string Mode { get; set; } = "None";

    /// <summary>Whether Docker registry token authentication is on.</summary>
    public bool IsToken => string.Equals(Mode, "Token", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Docker registry token validation (<c>Auth:Token</c>), the options of notary-server's <c>auth.options</c>
/// (spec auth.md §1).
/// </summary>
public sealed class TokenAuthOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Auth:Token";

    /// <summary>
    /// Token endpoint URL put into challenges. A value starting with <c>/</c> is resolved against the request's
    /// scheme and host (handy for the built-in issuer behind changing host names).
    /// </summary>
    public string? Realm { get; set; }

    /// <summary>Expected <c>aud</c> of tokens; also the <c>service</c> of challenges.</summary>
    public string? Service { get; set; }

    /// <summary>Expected <c>iss</c> of tokens.</summary>
    public string? Issuer { get; set; }

    /// <summary>PEM file with the certificates token signing chains must lead to (and whose keys a <c>kid</c> may name).</summary>
    public string? RootCertBundle { get; set; }

    /// <summary>docker/distribution's <c>autoredirect</c>: the realm becomes <c>https://&lt;request host&gt;/auth/token</c>.</summary>
    public bool AutoRedirect { get; set; }
}

/// <summary>The built-in Docker token issuer (<c>Auth:Issuer</c>); off by default.</summary>
public sealed class TokenIssuerOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Auth:Issuer";

    /// <summary>Serve the token endpoint.</summary>
    public bool Enabled { get; set; }

    /// <summary>Path of the token endpoint.</summary>
    public string Path { get; set; } = "/auth/token";

    /// <summary>PEM private key (PKCS#8, SEC1 or PKCS#1; ECDSA P-256/384/521 or RSA) signing the tokens.</summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>PEM certificates of the signing key, leaf first, then intermediates: sent as <c>x5c</c>.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>Token lifetime in seconds.</summary>
    public int TokenLifetimeSeconds { get; set; } = 300;

    /// <summary>
    /// Services the issuer signs tokens for besides <c>Auth:Token:Service</c> (always served): a registry behind the
    /// same issuer, with its own audience and the prefix that maps its repository names onto GUNs for the grants.
    /// </summary>
    public List<IssuerService> Services { get; set; } = [];

    /// <summary>Users by name: a password hash (see the <c>hash-password</c> command) and grants.</summary>
    public Dictionary<string, IssuerUser> Users { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Grants for requests without credentials; only <c>pull</c> is ever given anonymously.</summary>
    public List<IssuerGrant> AnonymousGrants { get; set; } = [];

    /// <summary>
    /// Failed logins allowed per user name and per remote address within <see cref="FailedAttemptsWindow"/> (refilled
    /// evenly); beyond it requests with credentials get 429 with <c>Retry-After</c>, without a password check. 0 = no limit.
    /// </summary>
    public int MaxFailedAttempts { get; set; } = 10;

    /// <summary>The window of <see cref="MaxFailedAttempts"/>: one attempt comes back every window / <see cref="MaxFailedAttempts"/>.</summary>
    public TimeSpan FailedAttemptsWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Password checks (PBKDF2, ~70–90 ms of CPU each) running at once; unset = half the processors, at least 1, so that
    /// a flood of logins leaves CPU for the Notary routes.
    /// </summary>
    public int? MaxConcurrentPasswordChecks { get; set; }

    /// <summary>Token requests waiting for a password check; beyond it 503 with <c>Retry-After</c>.</summary>
    public int PasswordCheckQueueLimit { get; set; } = 64;
}

/// <summary>A user of the built-in issuer.</summary>
public sealed class IssuerUser
{
    /// <summary>ASP.NET Core Identity password hash (PBKDF2), as printed by <c>hash-password</c>. Never a plain password.</summary>
    public string? PasswordHash { get; set; }

    /// <summary>What the user may be granted.</summary>
    public List<IssuerGrant> Grants { get; set; } = [];
}

/// <summary>Actions on the resources whose name matches <see cref="Pattern"/>.</summary>
public sealed class IssuerGrant
{
    /// <summary>Resource type: <c>repository</c> (default) or <c>registry</c> (name <c>catalog</c>).</summary>
    public string Type { get; set; } = "repository";

    /// <summary>Resource name; <c>*</c> matches any run of characters, slashes included (<c>example.com/team/*</c>).</summary>
    public string Pattern { get; set; } = string.Empty;

    /// <summary>Comma-separated actions: <c>pull</c>, <c>push</c>, <c>*</c> (everything, including delete and key rotation).</summary>
    public string Actions { get; set; } = "pull";
}
