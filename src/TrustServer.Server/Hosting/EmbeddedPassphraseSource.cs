using System.Security.Cryptography;
using TrustServer.Signing.Keys;

namespace TrustServer.Server.Hosting;

/// <summary>
/// Passphrases of the embedded key store: <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c> as notary-signer reads them; when that is
/// unset for the configured alias and a passphrase file is configured, the file's content — generated (32 random
/// bytes, base64, mode 0600) the first time, so that the zero-configuration default still encrypts keys at rest.
/// An unreadable file fails closed: keys can then be neither created nor loaded.
/// </summary>
internal sealed class EmbeddedPassphraseSource(string alias, string? passphraseFile) : IPassphraseSource
{
    private readonly EnvironmentPassphraseSource _environment = new();
    private readonly Lock _lock = new();

    public string? GetPassphrase(string requestedAlias)
    {
        var fromEnvironment = _environment.GetPassphrase(requestedAlias);
        if (!string.IsNullOrEmpty(fromEnvironment) || requestedAlias != alias || string.IsNullOrEmpty(passphraseFile))
        {
            return fromEnvironment;
        }

        lock (_lock)
        {
            if (!File.Exists(passphraseFile))
            {
                var directory = Path.GetDirectoryName(Path.GetFullPath(passphraseFile))!;
                Directory.CreateDirectory(directory);
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using var stream = new FileStream(passphraseFile, options);
                using var writer = new StreamWriter(stream);
                writer.Write(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            }

            return File.ReadAllText(passphraseFile).Trim();
        }
    }
}
