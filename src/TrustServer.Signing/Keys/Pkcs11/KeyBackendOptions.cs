using Microsoft.Extensions.Options;

namespace TrustServer.Signing.Keys.Pkcs11;

/// <summary>The values of <c>Keys:Backend</c>: where new server-managed keys are generated.</summary>
public static class KeyBackend
{
    /// <summary>notary-signer's JWE-encrypted rows in the key database (the default).</summary>
    public const string Database = "Database";

    /// <summary>Inside a PKCS#11 token; the key database keeps only the key's description and token object ID.</summary>
    public const string Pkcs11 = "Pkcs11";
}

/// <summary>
/// The key backend (<c>Keys</c> section), the same settings in <c>TrustServer.Signer</c> and in the server's embedded
/// signing mode. With <see cref="KeyBackend.Pkcs11"/>, existing JWE keys keep signing and new keys are created in the token.
/// </summary>
public sealed class KeyBackendOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Keys";

    /// <summary><c>Database</c> (default) or <c>Pkcs11</c>.</summary>
    public string Backend { get; set; } = KeyBackend.Database;

    /// <summary>Whether new keys are generated in the PKCS#11 token.</summary>
    public bool UsesPkcs11 => Backend == KeyBackend.Pkcs11;

    /// <summary>The token (<c>Keys:Pkcs11</c>); read only when <see cref="Backend"/> is <c>Pkcs11</c>.</summary>
    public Pkcs11Options Pkcs11 { get; set; } = new();
}

/// <summary>A PKCS#11 token (<c>Keys:Pkcs11</c> section).</summary>
public sealed record Pkcs11Options
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Keys:Pkcs11";

    /// <summary>The environment variable the user PIN is read from when <see cref="PinFile"/> is not set.</summary>
    public const string PinVariable = "TRUSTSERVER_PKCS11_PIN";

    /// <summary>Path of the vendor's PKCS#11 module (a shared library, e.g. <c>/usr/lib/softhsm/libsofthsm2.so</c>).</summary>
    public string? Library { get; set; }

    /// <summary>Label of the token (CKA_LABEL of its token info); or set <see cref="SlotId"/>.</summary>
    public string? TokenLabel { get; set; }

    /// <summary>Slot ID of the token (a decimal number), when it is not chosen by <see cref="TokenLabel"/>.</summary>
    public string? SlotId { get; set; }

    /// <summary><see cref="SlotId"/> as a number; null when unset or not a number.</summary>
    public ulong? SlotNumber => ulong.TryParse(SlotId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var slot) ? slot : null;

    /// <summary>File holding the user PIN (surrounding whitespace ignored); else the variable <see cref="PinVariable"/>.</summary>
    public string? PinFile { get; set; }

    /// <summary>At most this many sessions are open at once (concurrent signatures beyond it wait for a session).</summary>
    public int MaxSessions { get; set; } = 8;

    /// <summary>The user PIN from <see cref="PinFile"/> or <see cref="PinVariable"/>; never logged.</summary>
    /// <exception cref="Pkcs11TokenException">Neither is set, or the file cannot be read.</exception>
    public string ReadPin()
    {
        if (!string.IsNullOrWhiteSpace(PinFile))
        {
            try
            {
                var pin = File.ReadAllText(PinFile).Trim();
                return pin.Length > 0 ? pin : throw new Pkcs11TokenException($"Keys:Pkcs11:PinFile {PinFile} is empty");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new Pkcs11TokenException($"Keys:Pkcs11:PinFile {PinFile} cannot be read: {ex.Message}", ex);
            }
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(PinVariable);
        return string.IsNullOrEmpty(fromEnvironment)
            ? throw new Pkcs11TokenException($"no PIN for the PKCS#11 token: set Keys:Pkcs11:PinFile or the environment variable {PinVariable}")
            : fromEnvironment;
    }
}

/// <summary>The rules of <see cref="KeyBackendOptions"/>, one message per problem (a host prints them as one line).</summary>
public sealed class KeyBackendOptionsValidator : IValidateOptions<KeyBackendOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, KeyBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Backend is not (KeyBackend.Database or KeyBackend.Pkcs11))
        {
            return ValidateOptionsResult.Fail("Keys:Backend must be Database or Pkcs11");
        }

        if (!options.UsesPkcs11)
        {
            return ValidateOptionsResult.Success;
        }

        var pkcs11 = options.Pkcs11;
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(pkcs11.Library))
        {
            failures.Add("Keys:Pkcs11:Library (the PKCS#11 module's path) is required when Keys:Backend is Pkcs11");
        }

        if (string.IsNullOrWhiteSpace(pkcs11.TokenLabel) == string.IsNullOrWhiteSpace(pkcs11.SlotId))
        {
            failures.Add("exactly one of Keys:Pkcs11:TokenLabel and Keys:Pkcs11:SlotId must be set when Keys:Backend is Pkcs11");
        }
        else if (!string.IsNullOrWhiteSpace(pkcs11.SlotId) && pkcs11.SlotNumber is null)
        {
            failures.Add("Keys:Pkcs11:SlotId must be a decimal slot number");
        }

        if (string.IsNullOrWhiteSpace(pkcs11.PinFile) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Pkcs11Options.PinVariable)))
        {
            failures.Add($"Keys:Pkcs11:PinFile or the environment variable {Pkcs11Options.PinVariable} is required when Keys:Backend is Pkcs11");
        }

        if (pkcs11.MaxSessions is < 1 or > 256)
        {
            failures.Add("Keys:Pkcs11:MaxSessions must be between 1 and 256");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
