using System.Security.Cryptography;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Validation;

/// <summary>One uploaded metadata file: the role from the multipart filename and the parsed bytes.</summary>
public sealed record MetadataUpload
{
    private MetadataUpload(string role, SignedEnvelope file)
    {
        Role = role;
        File = file;
    }

    /// <summary>The role name (validated).</summary>
    public string Role { get; }

    /// <summary>The parsed file; <see cref="SignedEnvelope.Bytes"/> are the exact uploaded bytes.</summary>
    public SignedEnvelope File { get; }

    /// <summary>
    /// Pre-parses an upload as Notary does before validation (spec server-api.md §4): the role must be a valid
    /// role name (<see cref="ArgumentException"/> otherwise — callers check first and answer <c>INVALID_ROLE</c>)
    /// and the bytes must be a metadata envelope (<see cref="TufFormatException"/>: <c>MALFORMED_JSON</c>).
    /// </summary>
    public static MetadataUpload Parse(string role, byte[] bytes)
    {
        if (!RoleName.IsValid(role))
        {
            throw new ArgumentException($"'{role}' is not a valid role name", nameof(role));
        }

        return new MetadataUpload(role, SignedEnvelope.Parse(bytes));
    }
}

/// <summary>
/// What the store holds for a repository when an update arrives: the current file of each role (current as
/// reached from the current timestamp, spec validation.md §10.3) and the highest stored version of each role
/// (every stored version counts for the "old version" rule, §10.2).
/// </summary>
public sealed class RepositoryState
{
    /// <summary>Creates a state.</summary>
    public RepositoryState(IReadOnlyDictionary<string, byte[]> currentFiles, IReadOnlyDictionary<string, long> highestVersions)
    {
        CurrentFiles = currentFiles;
        HighestVersions = highestVersions;
    }

    /// <summary>A repository with nothing stored.</summary>
    public static RepositoryState Empty { get; } = new(new Dictionary<string, byte[]>(), new Dictionary<string, long>());

    /// <summary>Role → bytes of its current file.</summary>
    public IReadOnlyDictionary<string, byte[]> CurrentFiles { get; }

    /// <summary>Role → highest version stored for it.</summary>
    public IReadOnlyDictionary<string, long> HighestVersions { get; }
}

/// <summary>A file to store: role, version and exact bytes.</summary>
public sealed record MetadataFile(string Role, long Version, byte[] Data)
{
    /// <summary>Lowercase hex SHA-256 of the bytes: the checksum in <c>&lt;role&gt;.&lt;sha256&gt;.json</c> URLs.</summary>
    public string Sha256Hex { get; } = Convert.ToHexStringLower(SHA256.HashData(Data));
}

/// <summary>
/// Produces signatures with server-held private keys (timestamp, and snapshot when the server manages it).
/// Implemented by the embedded key store and by the remote signer client.
/// </summary>
public interface IServerSigner
{
    /// <summary>
    /// Signs <paramref name="canonicalBody"/> with every key among <paramref name="keys"/> that this signer holds
    /// and returns one signature per such key (none when it holds none of them).
    /// </summary>
    ValueTask<IReadOnlyList<TufSignature>> SignAsync(
        string gun, string role, IReadOnlyList<TufPublicKey> keys, ReadOnlyMemory<byte> canonicalBody, CancellationToken cancellationToken);
}

/// <summary>The Notary error families of a rejected update (spec validation.md §8).</summary>
public enum ValidationErrorKind
{
    /// <summary><c>ErrBadRoot</c>: 400 <c>INVALID_UPDATE</c>.</summary>
    BadRoot,

    /// <summary><c>ErrBadTargets</c>: 400 <c>INVALID_UPDATE</c>.</summary>
    BadTargets,

    /// <summary><c>ErrBadSnapshot</c>: 400 <c>INVALID_UPDATE</c>.</summary>
    BadSnapshot,

    /// <summary><c>ErrBadHierarchy</c> (with <c>Missing</c>): 400 <c>INVALID_UPDATE</c>.</summary>
    BadHierarchy,

    /// <summary><c>ErrValidation</c>: 400 <c>INVALID_UPDATE</c>.</summary>
    Validation,

    /// <summary>A version not greater than a stored one: 400 <c>VERSION</c>, detail <c>{}</c>.</summary>
    OldVersion,

    /// <summary>Any other failure during validation (e.g. stored data unusable): 400 <c>INVALID_UPDATE</c> without detail.</summary>
    InvalidUpdate,
}

/// <summary>Why an update was rejected.</summary>
public sealed record ValidationError(ValidationErrorKind Kind, string Message, string? Missing = null)
{
    /// <summary>The Go type name the client expects in <c>detail.Name</c>, or null when there is no such detail.</summary>
    public string? NotaryName => Kind switch
    {
        ValidationErrorKind.BadRoot => "ErrBadRoot",
        ValidationErrorKind.BadTargets => "ErrBadTargets",
        ValidationErrorKind.BadSnapshot => "ErrBadSnapshot",
        ValidationErrorKind.BadHierarchy => "ErrBadHierarchy",
        ValidationErrorKind.Validation => "ErrValidation",
        _ => null,
    };
}

/// <summary>The outcome of validating an update: the exact files to store, or the error.</summary>
public sealed record UpdateResult
{
    private UpdateResult(IReadOnlyList<MetadataFile> files, ValidationError? error)
    {
        Files = files;
        Error = error;
    }

    /// <summary>Files to store in one transaction, in order: root, targets roles, snapshot, timestamp.</summary>
    public IReadOnlyList<MetadataFile> Files { get; }

    /// <summary>The rejection, or null when accepted.</summary>
    public ValidationError? Error { get; }

    /// <summary>True when the update may be stored.</summary>
    public bool IsAccepted => Error is null;

    internal static UpdateResult Accept(IReadOnlyList<MetadataFile> files) => new(files, null);

    internal static UpdateResult Reject(ValidationError error) => new([], error);
}
