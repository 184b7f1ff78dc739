// A small JVM for the jvm tests: named threads in known states, a hot method
// for JFR's execution samples, and a READY line with its pid once running.
//   java -cp DIR JvmTarget [seconds]     (default: run until killed)
public final class JvmTarget {
  static volatile long sink;

  // The method JFR should find hottest.
  static long hotLoop(long n) {
    long acc = 0;
    for (long i = 0; i < n; i++) {
      acc = acc * 31 + (i ^ (acc >>> 7));
    }
    return acc;
  }

  public static void main(String[] args) throws Exception {
    long seconds = args.length > 0 ? Long.parseLong(args[0]) : Long.MAX_VALUE / 2000;
    Object lock = new Object();
    Thread sleeper = new Thread(() -> {
      synchronized (lock) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "sonde-waiter");
    sleeper.setDaemon(true);
    sleeper.start();
    Thread burner = new Thread(() -> {
      while (true) {
        sink += hotLoop(2_000_000);
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "sonde-burner");
    burner.setDaemon(true);
    burner.start();
    System.out.println("READY " + ProcessHandle.current().pid());
    System.out.flush();
    long end = System.currentTimeMillis() + seconds * 1000;
    while (System.currentTimeMillis() < end) {
      Thread.sleep(100);
    }
  }
}
