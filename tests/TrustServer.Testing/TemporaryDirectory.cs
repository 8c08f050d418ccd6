namespace TrustServer.Testing;

/// <summary>
/// A fresh, uniquely named directory under the system temp directory, deleted recursively on dispose.
/// </summary>
/// <example>
/// <code>
/// using var dir = new TemporaryDirectory("certs");
/// File.WriteAllText(dir.Combine("ca.pem"), pem);
/// </code>
/// </example>
public sealed class TemporaryDirectory : IDisposable
{
    /// <summary>Creates the directory (mode 0700 on Unix).</summary>
    /// <param name="prefix">A readable prefix for the directory name, e.g. the fixture name.</param>
    /// <param name="parent">The directory to create it in; the system temp directory when null.</param>
    public TemporaryDirectory(string prefix = "trustserver", string? parent = null)
    {
        // 12 random hex digits are plenty for uniqueness and keep Unix socket paths below their 108-byte limit.
        var name = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
        Path = System.IO.Path.Combine(parent ?? System.IO.Path.GetTempPath(), name);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Path);
        }
        else
        {
            Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>The absolute path of the directory.</summary>
    public string Path { get; }

    /// <summary>Combines <see cref="Path"/> with the given relative parts.</summary>
    /// <param name="parts">Path segments below the directory.</param>
    /// <returns>The combined absolute path (nothing is created).</returns>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Deletes the directory and everything below it; errors are ignored (best effort).</summary>
    public void Dispose() => DeleteQuietly(Path);

    internal static void DeleteQuietly(string path)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }
}
