namespace TrustServer.Tuf;

/// <summary>
/// Thrown for any input that is not well-formed Notary TUF metadata: bad JSON, wrong JSON types, bad base64,
/// bad dates, unusable numbers. Every parser in this library reports bad input with this type only, so that
/// callers can map it to Notary's <c>MALFORMED_JSON</c> (or the relevant validation error) without catching
/// unrelated exceptions.
/// </summary>
public sealed class TufFormatException : Exception
{
    /// <summary>Creates the exception with a message meant for the client.</summary>
    public TufFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message meant for the client and the underlying cause.</summary>
    public TufFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
