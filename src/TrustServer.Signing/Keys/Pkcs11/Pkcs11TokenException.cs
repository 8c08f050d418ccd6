namespace TrustServer.Signing.Keys.Pkcs11;

/// <summary>
/// The PKCS#11 token cannot be used: the module does not load, the token is missing, the PIN is wrong, or the token
/// failed and did not come back on the retry. Not a <see cref="KeyStoreException"/>: an outage is never reported as
/// "key not held". Messages name the setting or the PKCS#11 return value, never the PIN.
/// </summary>
public class Pkcs11TokenException : Exception
{
    /// <summary>Creates the exception.</summary>
    public Pkcs11TokenException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public Pkcs11TokenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The token cannot generate or use keys of an algorithm (e.g. <c>ed25519</c> without <c>CKM_EDDSA</c>).</summary>
public sealed class KeyAlgorithmNotSupportedException(string algorithm, string reason)
    : Pkcs11TokenException($"{algorithm} keys are not supported by this token: {reason}")
{
    /// <summary>The algorithm asked for.</summary>
    public string Algorithm { get; } = algorithm;
}
