using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cluster.Testing;

/// <summary>One log entry a silo wrote, as <see cref="LogCapture"/> keeps it.</summary>
public sealed record CapturedLog(LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception)
{
    public override string ToString() =>
        $"{Level} {Category}[{EventId.Id}:{EventId.Name}] {Message}" + (Exception is null ? "" : $" ({Exception.GetType().Name}: {Exception.Message})");
}

/// <summary>
/// Keeps every log entry a silo writes at <see cref="MinimumLevel"/> or above (after the silo's own level filters, so
/// Warning and above by default in a <see cref="TestSilo"/>). Add it with <see cref="AddTo"/> in
/// <see cref="TestSiloSettings.Services"/>.
/// </summary>
public sealed class LogCapture(LogLevel minimumLevel = LogLevel.Warning) : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();

    public LogLevel MinimumLevel { get; } = minimumLevel;

    /// <summary>Every entry kept so far, oldest first.</summary>
    public IReadOnlyList<CapturedLog> Entries => [.. entries];

    /// <summary>The entries at Error or Critical.</summary>
    public IReadOnlyList<CapturedLog> Errors => [.. entries.Where(e => e.Level >= LogLevel.Error)];

    /// <summary>Registers this capture as one more logger provider of the silo.</summary>
    public void AddTo(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(this);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= capture.MinimumLevel && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                capture.entries.Enqueue(new CapturedLog(logLevel, category, eventId, formatter(state, exception), exception));
            }
        }
    }
}
