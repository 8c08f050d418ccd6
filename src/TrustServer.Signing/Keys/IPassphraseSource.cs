namespace TrustServer.Signing.Keys;

/// <summary>
/// Supplies the passphrase for a passphrase alias (spec signer.md §5). The key store asks for the default alias when
/// it encrypts a new key and for a row's <c>passphrase_alias</c> when it decrypts one.
/// </summary>
public interface IPassphraseSource
{
    /// <summary>The passphrase for <paramref name="alias"/>, or null/empty when there is none.</summary>
    string? GetPassphrase(string alias);
}

/// <summary>
/// notary-signer's passphrase source: the environment variable <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c>, alias upper-cased
/// with dots replaced by underscores (e.g. <c>timestamp_1</c> → <c>NOTARY_SIGNER_TIMESTAMP_1</c>). Read on every
/// call, so a changed environment is seen by the next key load.
/// </summary>
public sealed class EnvironmentPassphraseSource : IPassphraseSource
{
    /// <summary>The prefix of every passphrase variable.</summary>
    public const string VariablePrefix = "NOTARY_SIGNER_";

    /// <summary>The environment variable that holds the passphrase of <paramref name="alias"/>.</summary>
    public static string VariableName(string alias)
    {
        ArgumentNullException.ThrowIfNull(alias);
        return VariablePrefix + alias.ToUpperInvariant().Replace('.', '_');
    }

    /// <inheritdoc />
    public string? GetPassphrase(string alias) => Environment.GetEnvironmentVariable(VariableName(alias));
}

/// <summary>A fixed alias → passphrase map (tests, or a host that reads passphrases from its own secret store).</summary>
public sealed class StaticPassphraseSource : IPassphraseSource
{
    private readonly Dictionary<string, string> _passphrases;

    /// <summary>Creates the source from alias → passphrase pairs (aliases compared ordinally).</summary>
    public StaticPassphraseSource(IEnumerable<KeyValuePair<string, string>> passphrases)
    {
        _passphrases = new Dictionary<string, string>(passphrases, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public string? GetPassphrase(string alias) => _passphrases.GetValueOrDefault(alias);
}
