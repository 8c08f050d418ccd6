namespace TrustServer.Signing.Keys;

/// <summary>
/// A stored key exists but cannot be used: its passphrase is unavailable, or its encrypted form cannot be decrypted
/// or decoded. Messages never contain key material or passphrases.
/// </summary>
public class KeyStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KeyStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public KeyStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// No passphrase for an alias: the variable <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c> (or the configured
/// <see cref="IPassphraseSource"/>) gives nothing (spec signer.md §5). The message is notary-signer's:
/// <c>expected env variable to not be empty: &lt;alias&gt;</c>.
/// </summary>
public sealed class PassphraseUnavailableException : KeyStoreException
{
    /// <summary>Creates the exception for an alias.</summary>
    public PassphraseUnavailableException(string alias)
        : base($"expected env variable to not be empty: {alias}")
    {
        Alias = alias;
    }

    /// <summary>The passphrase alias that has no passphrase.</summary>
    public string Alias { get; }
}

/// <summary>
/// An encrypted private key (JWE compact string) is malformed, fails authentication (wrong passphrase or tampered
/// data), or decrypts to something that is not a valid key of its row.
/// </summary>
public sealed class KeyDecryptionException : KeyStoreException
{
    /// <summary>Creates the exception.</summary>
    public KeyDecryptionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public KeyDecryptionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
