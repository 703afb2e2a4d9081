# frozen_string_literal: true

# Runs every *_test.rb beside this file.
Dir[File.join(__dir__, "*_test.rb")].sort.each { |file| require file }
